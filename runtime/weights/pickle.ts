import { UserError } from '../../common/user-error.ts';

/**
 * A reader for the subset of Python's pickle format that torch.save writes (protocol 2, plus the
 * few protocol 3–5 opcodes a newer pickler could emit for the same objects). It is a small stack
 * machine that never runs code: every global the pickle names goes through `findGlobal`, which
 * refuses what a tensor checkpoint does not need, and every call (REDUCE, NEWOBJ) goes through
 * `call`, which the caller implements for the globals it allowed.
 */

/** A Python tuple (arrays stand for lists). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A Python dict (or OrderedDict); keys keep their insertion order. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
}

/** A global (module.name) that `findGlobal` allowed, as a value on the stack. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface PickleHooks {
  /** Returns the value for an allowed global, or throws a UserError for a forbidden one. */
  findGlobal(module: string, name: string): unknown;
  /** Calls an allowed global (REDUCE or NEWOBJ) with positional arguments. */
  call(callable: unknown, args: unknown[]): unknown;
  /** Resolves a persistent id (BINPERSID); torch uses these for storages. */
  persistentLoad(pid: unknown): unknown;
}

export interface PickleResult {
  readonly value: unknown;
  /** The offset of the byte after STOP. */
  readonly end: number;
}

/** Most items on the stack or in the memo: far more than any checkpoint needs, few enough to be safe. */
const maxItems = 50_000_000;

/**
 * Runs the pickle that starts at `start` in `bytes` up to its STOP. Every malformed input (an
 * unknown opcode, a truncated argument, a stack underflow, a missing memo entry) is a UserError
 * that starts with `what` and names the byte offset.
 */
export function unpickle(
  bytes: Uint8Array,
  start: number,
  what: string,
  hooks: PickleHooks,
  /** The zip entry the pickle is, named in messages. */
  entry?: string,
): PickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  let opAt = start;
  const fail = (message: string): UserError =>
    new UserError(`${what}: damaged pickle${entry ? ` ${entry}` : ''} at byte ${opAt}: ${message}`);
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length)
      throw fail(`the file ends inside an argument (${n} bytes needed, ${bytes.length - pos} left)`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!))
      throw fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw fail('stack underflow');
    return stack[stack.length - 1];
  };
  const push = (value: unknown): void => {
    if (stack.length >= maxItems) throw fail('too many items on the stack');
    stack.push(value);
  };
  const popMark = (): unknown[] => {
    const at = marks.pop();
    if (at === undefined) throw fail('no MARK to pop to');
    return stack.splice(at);
  };
  const text = (at: number, n: number, encoding: 'utf-8' | 'latin1'): string => {
    try {
      return new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(at, at + n));
    } catch {
      throw fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 1000) throw fail('GLOBAL without a newline-terminated name');
    const s = text(pos, end - pos, 'utf-8');
    pos = end + 1;
    return s;
  };
  const length = (n: 1 | 4 | 8): number => {
    const at = need(n);
    if (n === 1) return bytes[at]!;
    if (n === 4) return view.getUint32(at, true);
    const big = view.getBigUint64(at, true);
    if (big > BigInt(bytes.length)) throw fail(`a length of ${big} bytes runs past the end of the file`);
    return Number(big);
  };
  const setItem = (dict: unknown, key: unknown, value: unknown): void => {
    if (!(dict instanceof PyDict)) throw fail('SETITEM on something that is not a dict');
    dict.map.set(key, value);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) throw fail('APPEND on something that is not a list');
    if (list.length + items.length > maxItems) throw fail('a list with too many items');
    for (const item of items) list.push(item);
  };
  const littleLong = (at: number, n: number): number | bigint => {
    if (n === 0) return 0;
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
    if (bytes[at + n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  };

  for (;;) {
    opAt = pos;
    if (pos >= bytes.length) throw fail('the file ends before the pickle’s STOP (truncated?)');
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length)
          throw fail('STOP with the stack not holding exactly one value');
        return { value: stack[0], end: pos };
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x28: // MARK
        if (marks.length >= maxItems) throw fail('too many MARKs');
        marks.push(stack.length);
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const n = length(op === 0x58 ? 4 : op === 0x8c ? 1 : 8);
        push(text(need(n), n, 'utf-8'));
        break;
      }
      case 0x54: // BINSTRING (a Python 2 str)
      case 0x55: {
        // SHORT_BINSTRING
        const n = length(op === 0x54 ? 4 : 1);
        push(text(need(n), n, 'latin1'));
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: {
        // BINBYTES8
        const n = length(op === 0x42 ? 4 : op === 0x43 ? 1 : 8);
        push(bytes.slice(need(n), pos));
        break;
      }
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(bytes[need(1)]!);
        break;
      case 0x4d: // BININT2
        push(view.getUint16(need(2), true));
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? length(1) : view.getInt32(need(4), true);
        if (n < 0 || n > 4096) throw fail(`a LONG of ${n} bytes`);
        push(littleLong(need(n), n));
        break;
      }
      case 0x47: // BINFLOAT
        push(view.getFloat64(need(8), false));
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        push(hooks.findGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw fail('STACK_GLOBAL without two strings');
        push(hooks.findGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) throw fail('REDUCE whose arguments are not a tuple');
        push(hooks.call(callable, args.items));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) throw fail('NEWOBJ whose arguments are not a tuple');
        push(hooks.call(cls, args.items));
        break;
      }
      case 0x62: {
        // BUILD: sets an object's state. The only objects here are dicts (an OrderedDict's
        // `_metadata`) and tensors (their Python attributes): neither state matters for weights.
        pop();
        top();
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) throw fail('SETITEMS with an odd number of items');
        const dict = top();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        append(top(), [value]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const items: unknown[] = [];
        for (let i = op - 0x84; i > 0; i--) items.unshift(pop());
        push(new PyTuple(items));
        break;
      }
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
        if (memo.size >= maxItems) throw fail('too many memo entries');
        memo.set(op === 0x71 ? bytes[need(1)]! : view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        if (memo.size >= maxItems) throw fail('too many memo entries');
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = op === 0x68 ? bytes[need(1)]! : view.getUint32(need(4), true);
        if (!memo.has(index)) throw fail(`memo entry ${index} is not set`);
        push(memo.get(index));
        break;
      }
      case 0x51: // BINPERSID
        push(hooks.persistentLoad(pop()));
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      default:
        throw fail(
          `opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''} is not one torch.save writes`,
        );
    }
  }
}
