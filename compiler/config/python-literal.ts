import { createToken, EmbeddedActionsParser, type IToken, Lexer, type TokenType } from '../chevrotain.ts';
import type { Span } from '../diagnostics/diagnostic.ts';
import type { PyValue } from './python-value.ts';

/**
 * Python's ast.literal_eval for the values yacs decodes: numbers, strings, True/False/None, tuples,
 * lists, dicts and sets, with a sign on numbers. yacs keeps the original string when literal_eval
 * raises ValueError or SyntaxError, so the result says which of the two happened and why.
 */
export type LiteralResult =
  | { readonly ok: true; readonly value: PyValue }
  | {
      readonly ok: false;
      readonly kind: 'syntax' | 'value';
      readonly message: string;
      readonly offset: number;
    };

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f]+/, group: Lexer.SKIPPED });
const Imaginary = createToken({
  name: 'Imaginary',
  pattern: /(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]/,
});
const Float = createToken({
  name: 'Float',
  pattern:
    /(?:\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?|\d(?:_?\d)*[eE][+-]?\d(?:_?\d)*/,
});
const Int = createToken({
  name: 'Int',
  pattern: /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*(?![\d_])/,
});
const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern:
    /(?:[rR][bB]?|[bB][rR]?|[uU]|[fF][rR]?|[rR][fF])?(?:"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*')/,
});
const Name = createToken({ name: 'Name', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const True = createToken({ name: 'True', pattern: /True(?![A-Za-z0-9_])/, longer_alt: Name });
const False = createToken({ name: 'False', pattern: /False(?![A-Za-z0-9_])/, longer_alt: Name });
const None = createToken({ name: 'None', pattern: /None(?![A-Za-z0-9_])/, longer_alt: Name });
const LParen = createToken({ name: 'LParen', pattern: '(' });
const RParen = createToken({ name: 'RParen', pattern: ')' });
const LBracket = createToken({ name: 'LBracket', pattern: '[' });
const RBracket = createToken({ name: 'RBracket', pattern: ']' });
const LBrace = createToken({ name: 'LBrace', pattern: '{' });
const RBrace = createToken({ name: 'RBrace', pattern: '}' });
const Comma = createToken({ name: 'Comma', pattern: ',' });
const Colon = createToken({ name: 'Colon', pattern: ':' });
const Plus = createToken({ name: 'Plus', pattern: '+' });
const Minus = createToken({ name: 'Minus', pattern: '-' });
/** Any other character: an operator or call that literal_eval refuses. */
const Other = createToken({ name: 'Other', pattern: /[^\s]/ });

const allTokens: TokenType[] = [
  WhiteSpace,
  Imaginary,
  Float,
  Int,
  StringLiteral,
  True,
  False,
  None,
  Name,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Plus,
  Minus,
  Other,
];

const literalLexer = new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false });

/** The syntax tree: kept separate from evaluation so that ValueError cases stay out of the grammar. */
type Ast =
  | { kind: 'token'; token: IToken }
  | { kind: 'strings'; tokens: IToken[] }
  | { kind: 'signed'; sign: IToken; operand: Ast }
  | { kind: 'tuple' | 'list' | 'set'; items: Ast[]; start: number; end: number }
  | { kind: 'dict'; keys: Ast[]; values: Ast[]; start: number; end: number }
  | { kind: 'group'; inner: Ast };

class LiteralParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  /** `a, b` at the top level is a tuple, as in Python's eval mode. */
  public top = this.RULE('top', (): Ast => {
    const first = this.SUBRULE(this.expression);
    const items: Ast[] = [first];
    let sawComma = false;
    this.MANY(() => {
      this.CONSUME(Comma);
      sawComma = true;
      this.OPTION(() => items.push(this.SUBRULE2(this.expression)));
    });
    return this.ACTION(() =>
      sawComma ? { kind: 'tuple' as const, items, start: startOf(first), end: endOf(items.at(-1)!) } : first,
    );
  });

  private expression = this.RULE('expression', (): Ast => {
    return this.OR([
      {
        ALT: () => {
          const sign = this.OR2([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME(Minus) }]);
          const operand = this.SUBRULE(this.atom);
          return { kind: 'signed' as const, sign, operand };
        },
      },
      { ALT: () => this.SUBRULE2(this.atom) },
    ]);
  });

  private atom = this.RULE('atom', (): Ast => {
    return this.OR([
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(Int) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(Float) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(Imaginary) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(True) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(False) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(None) }) },
      { ALT: () => ({ kind: 'token' as const, token: this.CONSUME(Name) }) },
      {
        ALT: () => {
          const tokens: IToken[] = [];
          this.AT_LEAST_ONE(() => tokens.push(this.CONSUME(StringLiteral)));
          return { kind: 'strings' as const, tokens };
        },
      },
      { ALT: () => this.SUBRULE(this.parenthesised) },
      { ALT: () => this.SUBRULE(this.bracketed) },
      { ALT: () => this.SUBRULE(this.braced) },
    ]);
  });

  private parenthesised = this.RULE('parenthesised', (): Ast => {
    const open = this.CONSUME(LParen);
    const items: Ast[] = [];
    let sawComma = false;
    this.OPTION(() => {
      items.push(this.SUBRULE(this.expression));
      this.MANY(() => {
        this.CONSUME(Comma);
        sawComma = true;
        this.OPTION2(() => items.push(this.SUBRULE2(this.expression)));
      });
    });
    const close = this.CONSUME(RParen);
    return this.ACTION(() =>
      items.length === 1 && !sawComma
        ? { kind: 'group' as const, inner: items[0]! }
        : { kind: 'tuple' as const, items, start: open.startOffset, end: close.startOffset + 1 },
    );
  });

  private bracketed = this.RULE('bracketed', (): Ast => {
    const open = this.CONSUME(LBracket);
    const items = this.SUBRULE(this.commaSeparated);
    const close = this.CONSUME(RBracket);
    return { kind: 'list' as const, items, start: open.startOffset, end: close.startOffset + 1 };
  });

  /** Items separated by commas with an optional trailing comma; `1,,2` is refused as Python does. */
  private commaSeparated = this.RULE('commaSeparated', (): Ast[] => {
    const items: Ast[] = [];
    this.OPTION(() => {
      items.push(this.SUBRULE(this.expression));
      this.MANY({
        GATE: () => this.LA(2).tokenType !== RBracket && this.LA(2).tokenType !== RBrace,
        DEF: () => {
          this.CONSUME(Comma);
          items.push(this.SUBRULE2(this.expression));
        },
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    return items;
  });

  private braced = this.RULE('braced', (): Ast => {
    const open = this.CONSUME(LBrace);
    const keys: Ast[] = [];
    const values: Ast[] = [];
    let isSet = false;
    this.OPTION(() => {
      keys.push(this.SUBRULE(this.expression));
      this.OR([
        {
          ALT: () => {
            this.CONSUME(Colon);
            values.push(this.SUBRULE2(this.expression));
            this.MANY({
              GATE: () => this.LA(2).tokenType !== RBrace,
              DEF: () => {
                this.CONSUME(Comma);
                keys.push(this.SUBRULE3(this.expression));
                this.CONSUME2(Colon);
                values.push(this.SUBRULE4(this.expression));
              },
            });
          },
        },
        {
          ALT: () => {
            isSet = true;
            this.MANY2({
              GATE: () => this.LA(2).tokenType !== RBrace,
              DEF: () => {
                this.CONSUME2(Comma);
                keys.push(this.SUBRULE5(this.expression));
              },
            });
          },
        },
      ]);
      this.OPTION2(() => this.CONSUME3(Comma));
    });
    const close = this.CONSUME(RBrace);
    return this.ACTION(() =>
      isSet
        ? { kind: 'set' as const, items: keys, start: open.startOffset, end: close.startOffset + 1 }
        : { kind: 'dict' as const, keys, values, start: open.startOffset, end: close.startOffset + 1 },
    );
  });
}

let sharedParser: LiteralParser | undefined;

class NotALiteral extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Evaluates `text` as literal_eval would. `spanAt` maps offsets in `text` to source spans, so items of
 * a tuple written on the command line can be pointed at; without it values carry no span.
 */
export function parsePythonLiteral(
  text: string,
  spanAt?: (start: number, end: number) => Span,
): LiteralResult {
  // literal_eval strips leading spaces and tabs only; anything else before the expression is an error.
  const lexed = literalLexer.tokenize(text);
  if (lexed.errors.length > 0) {
    const first = lexed.errors[0]!;
    return { ok: false, kind: 'syntax', message: 'invalid character', offset: first.offset };
  }
  if (lexed.tokens.length === 0) return { ok: false, kind: 'syntax', message: 'empty expression', offset: 0 };
  sharedParser ??= new LiteralParser();
  const parser = sharedParser;
  parser.input = lexed.tokens;
  let ast: Ast;
  try {
    ast = parser.top();
  } catch {
    return { ok: false, kind: 'syntax', message: 'nesting too deep', offset: 0 };
  }
  if (parser.errors.length > 0) {
    const token = parser.errors[0]!.token;
    const offset = Number.isNaN(token.startOffset) ? text.length : token.startOffset;
    const near = Number.isNaN(token.startOffset) ? 'end of input' : `'${token.image.slice(0, 20)}'`;
    return { ok: false, kind: 'syntax', message: `invalid syntax near ${near}`, offset };
  }
  try {
    return { ok: true, value: evaluate(ast, text, spanAt) };
  } catch (e) {
    if (e instanceof NotALiteral) return { ok: false, kind: 'value', message: e.message, offset: e.offset };
    if (e instanceof RangeError) return { ok: false, kind: 'syntax', message: 'nesting too deep', offset: 0 };
    throw e;
  }
}

function startOf(ast: Ast): number {
  switch (ast.kind) {
    case 'token':
      return ast.token.startOffset;
    case 'strings':
      return ast.tokens[0]!.startOffset;
    case 'signed':
      return ast.sign.startOffset;
    case 'group':
      return startOf(ast.inner);
    default:
      return ast.start;
  }
}

function endOf(ast: Ast): number {
  switch (ast.kind) {
    case 'token':
      return ast.token.startOffset + ast.token.image.length;
    case 'strings':
      return ast.tokens.at(-1)!.startOffset + ast.tokens.at(-1)!.image.length;
    case 'signed':
      return endOf(ast.operand);
    case 'group':
      return endOf(ast.inner);
    default:
      return ast.end;
  }
}

function evaluate(ast: Ast, text: string, spanAt?: (start: number, end: number) => Span): PyValue {
  const span = spanAt ? { span: spanAt(startOf(ast), endOf(ast)) } : {};
  const recurse = (a: Ast) => evaluate(a, text, spanAt);
  switch (ast.kind) {
    case 'group':
      return recurse(ast.inner);
    case 'signed': {
      const operand = recurse(ast.operand);
      const negative = ast.sign.image === '-';
      if (operand.type === 'int')
        return { type: 'int', value: negative ? -operand.value : operand.value, ...span };
      if (operand.type === 'float')
        return { type: 'float', value: negative ? -operand.value : operand.value, ...span };
      throw new NotALiteral('a sign applies only to a number', ast.sign.startOffset);
    }
    case 'token':
      return tokenValue(ast.token, span);
    case 'strings': {
      let value = '';
      for (const token of ast.tokens) value += stringValue(token);
      return { type: 'str', value, ...span };
    }
    case 'tuple':
    case 'list':
    case 'set':
      return { type: ast.kind, items: ast.items.map(recurse), ...span };
    case 'dict': {
      const entries = ast.keys.map((key, i) => {
        const keyValue = recurse(key);
        if (keyValue.type === 'list' || keyValue.type === 'dict' || keyValue.type === 'set') {
          throw new NotALiteral(`unhashable dict key of type ${keyValue.type}`, startOf(key));
        }
        return { key: keyValue, value: recurse(ast.values[i]!) };
      });
      return { type: 'dict', entries, ...span };
    }
  }
}

function tokenValue(token: IToken, span: { span?: Span }): PyValue {
  const image = token.image;
  switch (token.tokenType) {
    case Int:
      return { type: 'int', value: BigInt(image.replace(/_/g, '')), ...span };
    case Float:
      return { type: 'float', value: Number(image.replace(/_/g, '')), ...span };
    case True:
      return { type: 'bool', value: true, ...span };
    case False:
      return { type: 'bool', value: false, ...span };
    case None:
      return { type: 'none', ...span };
    case Imaginary:
      throw new NotALiteral('complex numbers are not config values', token.startOffset);
    default:
      throw new NotALiteral(`'${image.slice(0, 40)}' is a name, not a literal`, token.startOffset);
  }
}

function stringValue(token: IToken): string {
  const match = /^([A-Za-z]*)("""|'''|"|')([\s\S]*)\2$/.exec(token.image);
  if (!match) throw new NotALiteral('malformed string', token.startOffset);
  const prefix = match[1]!.toLowerCase();
  if (prefix.includes('b')) throw new NotALiteral('bytes are not config values', token.startOffset);
  if (prefix.includes('f')) throw new NotALiteral('f-strings are not literals', token.startOffset);
  const body = match[3]!;
  return prefix.includes('r') ? body : decodeEscapes(body);
}

const simpleEscapes: Record<string, string> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function decodeEscapes(body: string): string {
  return body.replace(
    /\\(?:([0-7]{1,3})|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([\s\S]))/g,
    (whole, octal?: string, hex?: string, u4?: string, u8?: string, other?: string) => {
      const code = octal
        ? Number.parseInt(octal, 8)
        : Number.parseInt((hex ?? u4 ?? u8 ?? 'x') as string, 16);
      if (!Number.isNaN(code)) return String.fromCodePoint(Math.min(code, 0x10ffff));
      return other !== undefined && other in simpleEscapes ? simpleEscapes[other]! : whole;
    },
  );
}
