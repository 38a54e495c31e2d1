import { createToken, EmbeddedActionsParser, type IToken, Lexer, type TokenType } from '../chevrotain.ts';
import { type Diagnostic, error, type Span } from '../diagnostics/diagnostic.ts';
import type { SourceText } from '../diagnostics/source-text.ts';
import type { Graph, Node } from './graph.ts';
import { type AttrValue, isOp } from './ops.ts';
import type { Dim } from './tensor-type.ts';
import { verifyGraph } from './verify.ts';

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });
const LineComment = createToken({ name: 'LineComment', pattern: /\/\/[^\n]*/, group: Lexer.SKIPPED });
const ModulePath = createToken({ name: 'ModulePath', pattern: /#[^\n]*/ });
const ValueId = createToken({ name: 'ValueId', pattern: /%\d+/ });
const ParamRef = createToken({ name: 'ParamRef', pattern: /@[A-Za-z0-9_.]+/ });
const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/,
});
const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"(?:[^"\\\n]|\\.)*"/ });
const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const punctuation = Object.fromEntries(
  (
    [
      ['LBrace', '{'],
      ['RBrace', '}'],
      ['LParen', '('],
      ['RParen', ')'],
      ['LBracket', '['],
      ['RBracket', ']'],
      ['Comma', ','],
      ['Colon', ':'],
      ['Equals', '='],
    ] as const
  ).map(([name, pattern]) => [name, createToken({ name, pattern })]),
) as Record<
  'LBrace' | 'RBrace' | 'LParen' | 'RParen' | 'LBracket' | 'RBracket' | 'Comma' | 'Colon' | 'Equals',
  TokenType
>;

const tokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  ModulePath,
  ValueId,
  ParamRef,
  NumberLiteral,
  StringLiteral,
  Identifier,
  ...Object.values(punctuation),
];
const irLexer = new Lexer(tokens, { ensureOptimizations: false });

interface ParsedStatement {
  name: IToken;
  dtype: IToken;
  dims: IToken[];
  op: IToken;
  operands: IToken[];
  attrs: { key: IToken; value: AttrValue }[];
  module?: IToken;
}

class IrParser extends EmbeddedActionsParser {
  constructor() {
    super(tokens, { maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  public graph = this.RULE('graph', () => {
    const keyword = this.CONSUME(Identifier);
    const name = this.CONSUME2(Identifier);
    this.CONSUME(punctuation.LBrace);
    const statements: ParsedStatement[] = [];
    this.MANY(() => statements.push(this.SUBRULE(this.statement)));
    this.CONSUME(punctuation.RBrace);
    return { keyword, name, statements };
  });

  private statement = this.RULE('statement', (): ParsedStatement => {
    const name = this.OR([{ ALT: () => this.CONSUME(ValueId) }, { ALT: () => this.CONSUME(ParamRef) }]);
    this.CONSUME(punctuation.Colon);
    const dtype = this.CONSUME(Identifier);
    this.CONSUME(punctuation.LBracket);
    const dims: IToken[] = [];
    this.MANY_SEP({
      SEP: punctuation.Comma,
      DEF: () =>
        dims.push(
          this.OR2([{ ALT: () => this.CONSUME(NumberLiteral) }, { ALT: () => this.CONSUME2(Identifier) }]),
        ),
    });
    this.CONSUME(punctuation.RBracket);
    this.CONSUME(punctuation.Equals);
    const op = this.CONSUME3(Identifier);
    this.CONSUME(punctuation.LParen);
    const operands: IToken[] = [];
    this.MANY_SEP2({
      SEP: punctuation.Comma,
      DEF: () =>
        operands.push(
          this.OR3([{ ALT: () => this.CONSUME2(ValueId) }, { ALT: () => this.CONSUME2(ParamRef) }]),
        ),
    });
    this.CONSUME(punctuation.RParen);
    const attrs: { key: IToken; value: AttrValue }[] = [];
    this.OPTION(() => {
      this.CONSUME2(punctuation.LBrace);
      this.MANY_SEP3({
        SEP: punctuation.Comma,
        DEF: () => {
          const key = this.CONSUME4(Identifier);
          this.CONSUME2(punctuation.Equals);
          const value = this.SUBRULE(this.attrValue);
          attrs.push({ key, value });
        },
      });
      this.CONSUME2(punctuation.RBrace);
    });
    const module = this.OPTION2(() => this.CONSUME(ModulePath));
    return { name, dtype, dims, op, operands, attrs, ...(module ? { module } : {}) };
  });

  private attrValue = this.RULE('attrValue', (): AttrValue => {
    return this.OR([
      { ALT: () => Number(this.CONSUME(NumberLiteral).image) },
      {
        ALT: () => {
          const token = this.CONSUME(StringLiteral);
          return this.ACTION(() => JSON.parse(token.image) as string);
        },
      },
      {
        ALT: () => {
          const word = this.CONSUME(Identifier).image;
          return this.ACTION(() => (word === 'true' ? true : word === 'false' ? false : word));
        },
      },
      {
        ALT: () => {
          this.CONSUME(punctuation.LBracket);
          const items: number[] = [];
          this.MANY_SEP({
            SEP: punctuation.Comma,
            DEF: () => items.push(Number(this.CONSUME2(NumberLiteral).image)),
          });
          this.CONSUME(punctuation.RBracket);
          return items;
        },
      },
    ]);
  });
}

let sharedParser: IrParser | undefined;

export type ParseIrResult = { ok: true; graph: Graph } | { ok: false; diagnostics: Diagnostic[] };

/** Reads the text form back into a graph, checking it with the verifier; errors are located. */
export function parseGraph(source: SourceText): ParseIrResult {
  const spanOf = (token: IToken): Span => ({
    source,
    start: token.startOffset,
    end: token.startOffset + Math.max(1, token.image.length),
  });
  const lexed = irLexer.tokenize(source.text);
  if (lexed.errors.length > 0) {
    const e = lexed.errors[0]!;
    return {
      ok: false,
      diagnostics: [
        error('E101', `unexpected character in IR text`, { source, start: e.offset, end: e.offset + 1 }),
      ],
    };
  }
  sharedParser ??= new IrParser();
  const parser = sharedParser;
  parser.input = lexed.tokens;
  const parsed = parser.graph();
  if (parser.errors.length > 0) {
    return {
      ok: false,
      diagnostics: parser.errors.slice(0, 10).map((e) => {
        const at = Number.isNaN(e.token.startOffset)
          ? { source, start: source.text.length, end: source.text.length + 1 }
          : spanOf(e.token);
        return error('E101', `IR syntax error: ${e.message.split('\n')[0]}`, at);
      }),
    };
  }
  if (parsed.keyword.image !== 'graph') {
    return {
      ok: false,
      diagnostics: [error('E101', "an IR file starts with 'graph NAME {'", spanOf(parsed.keyword))],
    };
  }

  const diagnostics: Diagnostic[] = [];
  const ids = new Map<string, number>();
  const nodes: Node[] = [];
  const statementSpans: Span[] = [];
  for (const statement of parsed.statements) {
    const id = nodes.length;
    const name = statement.name.image;
    if (ids.has(name)) diagnostics.push(error('E103', `${name} is defined twice`, spanOf(statement.name)));
    ids.set(name, id);
    const op = statement.op.image;
    if (!isOp(op)) {
      diagnostics.push(error('E302', `unknown op '${op}'`, spanOf(statement.op)));
      continue;
    }
    if ((op === 'parameter') !== name.startsWith('@')) {
      diagnostics.push(
        error(
          'E306',
          op === 'parameter' ? 'a parameter is named @official.name' : `only parameters are named with @`,
          spanOf(statement.name),
        ),
      );
    }
    const inputs: number[] = [];
    for (const operand of statement.operands) {
      const input = ids.get(operand.image);
      if (input === undefined || input === id)
        diagnostics.push(error('E304', `${operand.image} is not defined before this line`, spanOf(operand)));
      else inputs.push(input);
    }
    if (statement.dtype.image !== 'f32')
      diagnostics.push(
        error('E303', `unknown element type '${statement.dtype.image}'`, spanOf(statement.dtype)),
      );
    const shape: Dim[] = statement.dims.map((d) => (d.image === 'N' ? 'N' : Number(d.image)));
    for (const [i, d] of shape.entries()) {
      if (d !== 'N' && !(Number.isInteger(d) && d > 0))
        diagnostics.push(error('E301', 'dimensions are positive integers or N', spanOf(statement.dims[i]!)));
    }
    const module = op === 'parameter' ? name.slice(1) : (statement.module?.image.slice(1).trim() ?? '');
    nodes.push({
      id,
      op,
      inputs,
      type: { dtype: 'f32', shape },
      attrs: Object.fromEntries(statement.attrs.map((a) => [a.key.image, a.value])),
      module,
    });
    statementSpans.push(spanOf(statement.name));
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const graph: Graph = { name: parsed.name.image, nodes };
  const problems = verifyGraph(graph);
  if (problems.length > 0) {
    return {
      ok: false,
      diagnostics: problems.map((p) => {
        const span = p.node === undefined ? undefined : statementSpans[p.node];
        return error('E306', p.message, span ?? { source, start: 0, end: 1 });
      }),
    };
  }
  return { ok: true, graph };
}
