import { readFileSync } from 'node:fs';
import { UserError } from '../../common/user-error.ts';

/**
 * Reads a JSON file, or throws a UserError that starts with the path: `file.json: cannot read …`,
 * `file.json: empty file …`, or `file.json:LINE:COL: invalid JSON: …` for a syntax error. A leading
 * byte-order mark is skipped. `what` says what the file should hold ("COCO results").
 */
export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new UserError(`${path}: cannot read ${what}: ${reason}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (e) {
    if (text.trim() === '') throw new UserError(`${path}: empty file; expected ${what} as JSON`);
    const found = jsonSyntaxError(text);
    if (!found) throw new UserError(`${path}: invalid JSON: ${(e as Error).message}`);
    const { line, column } = lineAndColumn(text, found.offset);
    throw new UserError(`${path}:${line}:${column}: invalid JSON: ${found.problem}`);
  }
}

/** 1-based line and column (in UTF-16 code units) of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Finds the first syntax error of a text that JSON.parse refused: its offset and a description. Node's
 * own messages give no position for some errors and quote the whole text for others, so this small
 * scanner (iterative: deep nesting cannot overflow the stack) locates it. Undefined when the text is
 * valid JSON.
 */
export function jsonSyntaxError(text: string): { offset: number; problem: string } | undefined {
  const n = text.length;
  let i = 0;
  const stack: ('{' | '[')[] = [];
  const skipSpace = () => {
    while (i < n) {
      const c = text[i];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') break;
      i++;
    }
  };
  const error = (problem: string, offset = i) => ({ offset, problem });
  const found = () => (i >= n ? 'the end of the file' : describeChar(text[i]!));

  /** Scans a string starting at its opening quote; an error, or undefined. */
  const scanString = () => {
    const start = i;
    i++;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            return error('invalid \\u escape: expected four hex digits');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else if (e === undefined) {
          break;
        } else {
          return error(`invalid escape '\\${e}' in a string`);
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20)
        return error(`${describeChar(c)} inside a string (control characters must be escaped, e.g. \\n)`);
      i++;
    }
    return error('unterminated string (it starts here)', start);
  };

  /** Scans a number (JSON's grammar: no leading zeros, digits on both sides of the point). */
  const scanNumber = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') {
      i++;
      if (isDigit(text[i])) return error('a number cannot start with 0 (leading zeros are not JSON)');
    } else if (isDigit(text[i])) {
      while (isDigit(text[i])) i++;
    } else {
      return text.startsWith('Infinity', i)
        ? error('-Infinity is not JSON (write a number or null)', i - 1)
        : error(`expected a digit after '-', found ${found()}`);
    }
    if (text[i] === '.') {
      i++;
      if (!isDigit(text[i])) return error(`expected a digit after the decimal point, found ${found()}`);
      while (isDigit(text[i])) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!isDigit(text[i])) return error(`expected a digit in the exponent, found ${found()}`);
      while (isDigit(text[i])) i++;
    }
    return undefined;
  };

  type State = 'value' | 'key' | 'after';
  let state: State = 'value';
  let afterComma = false;
  let commaAt = 0;
  for (;;) {
    skipSpace();
    if (state === 'value') {
      if (i >= n) return error('unexpected end of the file, expected a value');
      const c = text[i]!;
      if (afterComma && (c === ']' || c === '}'))
        return error(`a comma before '${c}': JSON allows no trailing comma`, commaAt);
      afterComma = false;
      if (c === '{' || c === '[') {
        i++;
        skipSpace();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          state = 'after';
        } else {
          stack.push(c);
          state = c === '{' ? 'key' : 'value';
        }
        continue;
      }
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
      let problem: { offset: number; problem: string } | undefined;
      if (c === '"') problem = scanString();
      else if (c === '-' || isDigit(c)) problem = scanNumber();
      else if (literal) i += literal.length;
      else if (text.startsWith('NaN', i) || text.startsWith('Infinity', i))
        problem = error(`${c === 'N' ? 'NaN' : 'Infinity'} is not JSON (write a number or null)`);
      else if (c === "'") problem = error("strings need double quotes, not '");
      else if (c === '/') problem = error('comments are not JSON');
      else problem = error(`expected a value, found ${found()}`);
      if (problem) return problem;
      state = 'after';
    } else if (state === 'key') {
      if (i >= n) return error('unexpected end of the file, expected a property name');
      const c = text[i]!;
      if (afterComma && c === '}') return error("a comma before '}': JSON allows no trailing comma", commaAt);
      afterComma = false;
      if (c !== '"') return error(`expected a property name in double quotes, found ${found()}`);
      const problem = scanString();
      if (problem) return problem;
      skipSpace();
      if (text[i] !== ':') return error(`expected ':' after the property name, found ${found()}`);
      i++;
      state = 'value';
    } else {
      const top = stack.at(-1);
      if (!top) return i < n ? error(`unexpected ${found()} after the JSON value`) : undefined;
      const close = top === '{' ? '}' : ']';
      const c = text[i];
      if (c === ',') {
        commaAt = i;
        i++;
        afterComma = true;
        state = top === '{' ? 'key' : 'value';
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        const where = top === '{' ? 'a property' : 'a list element';
        return error(
          i >= n
            ? `unexpected end of the file, expected ',' or '${close}' after ${where}`
            : `expected ',' or '${close}' after ${where}, found ${found()}`,
        );
      }
    }
  }
}

/** A short description of a JSON value for messages: `null`, `a string ("abc")`, `a list of 3`. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value)
        ? `the number ${value}`
        : `${value} (a number too large for a double, such as 1e999)`;
    case 'string':
      return `a string (${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)})`;
    case 'boolean':
      return String(value);
    default:
      return 'an object';
  }
}

/** `annotations[3].keypoints`: a child path of `at` by key or index. */
export const jsonKey = (at: string, key: string): string => (at ? `${at}.${key}` : key);
export const jsonIndex = (at: string, index: number): string => `${at}[${index}]`;

/**
 * Checks values read from one JSON file and reports the first problem as a UserError that names
 * the file and the value's path: `file.json: annotations[3].keypoints: expected 51 numbers, found 50`.
 * Problems with the whole file read `file.json: must hold …, found …`.
 */
export class JsonChecker {
  constructor(readonly file: string) {}

  fail(at: string, problem: string): never {
    throw new UserError(`${this.file}: ${at ? `${at}: ` : ''}${problem}`);
  }

  private wrongType(at: string, expected: string, value: unknown): never {
    this.fail(at, `${at ? 'expected' : 'must hold'} ${expected}, found ${describeJson(value)}`);
  }

  object(value: unknown, at: string, expected = 'an object'): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.wrongType(at, expected, value);
    return value as Record<string, unknown>;
  }

  /** A required property. */
  field(object: Record<string, unknown>, key: string, at: string): unknown {
    if (!Object.hasOwn(object, key)) this.fail(at, `missing "${key}"`);
    return object[key];
  }

  list(value: unknown, at: string, expected = 'a list'): unknown[] {
    if (!Array.isArray(value)) this.wrongType(at, expected, value);
    return value;
  }

  /** A finite number. */
  number(value: unknown, at: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.wrongType(at, 'a number', value);
    return value;
  }

  string(value: unknown, at: string): string {
    if (typeof value !== 'string') this.wrongType(at, 'a string', value);
    return value;
  }

  /** A list of exactly `count` finite numbers; `what` names them in the message ("17 × 3"). */
  numbers(value: unknown, at: string, count: number, what = ''): number[] {
    const list = this.list(value, at, `a list of ${count} numbers${what}`);
    if (list.length !== count) this.fail(at, `expected ${count} numbers${what}, found ${list.length}`);
    for (let k = 0; k < count; k++) this.number(list[k], jsonIndex(at, k));
    return list as number[];
  }

  /** A list of exactly `count` points, each a list of `size` finite numbers ([x, y]). */
  points(
    value: unknown,
    at: string,
    count: number,
    what: string,
    sizes: readonly number[] = [2],
  ): number[][] {
    const list = this.list(value, at, `a list of ${count} ${what}`);
    if (list.length !== count) this.fail(at, `expected ${count} ${what}, found ${list.length}`);
    for (let k = 0; k < count; k++) {
      const p = this.list(
        list[k],
        jsonIndex(at, k),
        sizes.length === 1 ? '[x, y]' : '[x, y] or [x, y, score]',
      );
      if (!sizes.includes(p.length))
        this.fail(jsonIndex(at, k), `expected ${sizes.join(' or ')} numbers, found ${p.length}`);
      for (let d = 0; d < p.length; d++) this.number(p[d], jsonIndex(jsonIndex(at, k), d));
    }
    return list as number[][];
  }
}
