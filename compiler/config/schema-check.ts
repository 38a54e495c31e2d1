import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DiagnosticCode } from '../diagnostics/codes.ts';
import { type Diagnostic, error, type Span, warning } from '../diagnostics/diagnostic.ts';
import { toPlain } from './experiment-config.ts';
import { type CfgNode, lookup, type PyValue, preview, pythonTypeName } from './python-value.ts';
import { closestName } from './suggest.ts';

const schemaDir = new URL('../../schemas/', import.meta.url);

function loadSchema(relative: string): object {
  return JSON.parse(readFileSync(new URL(relative, schemaDir), 'utf8')) as object;
}

/** The PyValue tree being validated, so the pythonType keyword can see int vs float. */
let currentRoot: PyValue | undefined;

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  ajv.addKeyword({
    keyword: 'pythonType',
    schemaType: 'string',
    errors: true,
    validate: function pythonType(
      expected: string,
      _data: unknown,
      _schema?: unknown,
      ctx?: { instancePath: string },
    ) {
      const value = currentRoot && ctx ? lookupAny(currentRoot, pathOf(ctx.instancePath)) : undefined;
      if (!value || value.type === expected) return true;
      (pythonType as { errors?: Partial<ErrorObject>[] }).errors = [
        { keyword: 'pythonType', message: `must be ${expected}`, params: { expected, actual: value.type } },
      ];
      return false;
    },
  });
  return ajv;
}

interface Validators {
  readonly experiment: ValidateFunction;
  readonly extras: ReadonlyMap<string, ValidateFunction>;
}

let validators: Validators | undefined;

function getValidators(): Validators {
  if (validators) return validators;
  const ajv = createAjv();
  const extras = new Map<string, ValidateFunction>();
  for (const model of ['pose_hrnet', 'pose_resnet']) {
    extras.set(model, ajv.compile(loadSchema(`models/${model}.schema.json`)));
  }
  validators = { experiment: ajv.compile(loadSchema('experiment.schema.json')), extras };
  return validators;
}

/** Validates the merged config against experiment.schema.json and the schema of MODEL.NAME's EXTRA. */
export function checkSchema(root: CfgNode): Diagnostic[] {
  const { experiment, extras } = getValidators();
  const diagnostics: Diagnostic[] = [];
  currentRoot = root;
  try {
    if (!experiment(toPlain(root))) {
      diagnostics.push(...errorsToDiagnostics(experiment.errors ?? [], root, []));
    }
    const name = lookup(root, ['MODEL', 'NAME']);
    const extra = lookup(root, ['MODEL', 'EXTRA']);
    const validateExtra = name?.type === 'str' ? extras.get(name.value) : undefined;
    if (validateExtra && extra) {
      currentRoot = extra;
      if (!validateExtra(toPlain(extra))) {
        diagnostics.push(...errorsToDiagnostics(validateExtra.errors ?? [], root, ['MODEL', 'EXTRA']));
      }
    }
  } finally {
    currentRoot = undefined;
  }
  return diagnostics;
}

function pathOf(instancePath: string): string[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function dottedPath(path: readonly string[]): string {
  return path.reduce((s, part) => (/^\d+$/.test(part) ? `${s}[${part}]` : s ? `${s}.${part}` : part), '');
}

/** The span the user wrote for exactly this path: the value, or else its key. */
export function exactSpanAt(root: CfgNode, path: readonly string[]): Span | undefined {
  const value = lookupAny(root, path);
  if (value?.span && value.type !== 'node') return value.span;
  const parent = lookupAny(root, path.slice(0, -1));
  const last = path.at(-1);
  const keySpan =
    parent?.type === 'node' && last !== undefined ? parent.entries.get(last)?.keySpan : undefined;
  return keySpan ?? value?.span;
}

/** The span of `path`, or of the nearest enclosing value the user wrote (defaults have none). */
export function spanAt(root: CfgNode, path: readonly string[]): Span | undefined {
  for (let n = path.length; n >= 0; n--) {
    const span = exactSpanAt(root, path.slice(0, n));
    if (span) return span;
  }
  return undefined;
}

function lookupAny(root: PyValue, path: readonly string[]): PyValue | undefined {
  let current: PyValue | undefined = root;
  for (const part of path) {
    if (!current) return undefined;
    if (current.type === 'node') current = current.entries.get(part)?.value;
    else if (current.type === 'list' || current.type === 'tuple' || current.type === 'set')
      current = current.items[Number(part)];
    else return undefined;
  }
  return current;
}

const keywordCodes: Partial<Record<string, DiagnosticCode>> = {
  minimum: 'E301',
  maximum: 'E301',
  exclusiveMinimum: 'E301',
  exclusiveMaximum: 'E301',
  enum: 'E302',
  const: 'E302',
  type: 'E303',
  pythonType: 'E303',
  required: 'E304',
  minItems: 'E305',
  maxItems: 'E305',
  minLength: 'E306',
};

function errorsToDiagnostics(
  errors: readonly ErrorObject[],
  root: CfgNode,
  prefix: readonly string[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of errors) {
    // An integer type error repeats what pythonType says in Python terms; keep the Python one.
    if (
      e.keyword === 'type' &&
      errors.some((o) => o.keyword === 'pythonType' && o.instancePath === e.instancePath)
    )
      continue;
    const path = [...prefix, ...pathOf(e.instancePath)];
    const key = dottedPath(path);
    const value = lookupAny(root, path);
    const got = value ? `${pythonTypeName(value.type)} ${preview(value)}` : 'nothing';
    const span = spanAt(root, path);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperty':
      case 'additionalProperties': {
        const extra = String(params.additionalProperty);
        const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
        const suggestion = closestName(extra, known);
        const parent = lookup(root, path);
        const keySpan = parent?.type === 'node' ? parent.entries.get(extra)?.keySpan : undefined;
        out.push(
          warning(
            'W001',
            `${dottedPath([...path, extra])} is not used by ${modelName(root)} and is ignored`,
            keySpan ?? spanAt(root, [...path, extra]),
            suggestion ? [`did you mean ${dottedPath([...path, suggestion])}?`] : undefined,
          ),
        );
        break;
      }
      case 'enum': {
        const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v).replace(/"/g, "'"));
        const suggestion =
          value?.type === 'str'
            ? closestName(
                value.value,
                allowed.map((a) => a.slice(1, -1)),
              )
            : undefined;
        out.push(
          error(
            'E302',
            `${key} must be one of ${allowed.join(', ')}, got ${got}`,
            span,
            suggestion ? [`did you mean '${suggestion}'?`] : undefined,
          ),
        );
        break;
      }
      case 'required':
        out.push(error('E304', `${key || 'the config'} is missing ${String(params.missingProperty)}`, span));
        break;
      case 'pythonType':
        out.push(error('E303', `${key} must be ${String(params.expected)}, got ${got}`, span));
        break;
      case 'type':
        out.push(error('E303', `${key} must be ${article(String(params.type))}, got ${got}`, span));
        break;
      case 'minItems':
      case 'maxItems': {
        const limit = Number(params.limit);
        const want = e.parentSchema as { minItems?: number; maxItems?: number };
        const expect =
          want.minItems === want.maxItems
            ? `exactly ${limit}`
            : e.keyword === 'minItems'
              ? `at least ${limit}`
              : `at most ${limit}`;
        out.push(error('E305', `${key} must have ${expect} item${limit === 1 ? '' : 's'}, got ${got}`, span));
        break;
      }
      default: {
        const code = keywordCodes[e.keyword] ?? 'E306';
        out.push(error(code, `${key} ${e.message ?? 'is invalid'}, got ${got}`, span));
      }
    }
  }
  return out;
}

function modelName(root: CfgNode): string {
  const name = lookup(root, ['MODEL', 'NAME']);
  return name?.type === 'str' ? name.value : 'the model';
}

function article(typeName: string): string {
  const python: Record<string, string> = {
    integer: 'int',
    number: 'float',
    string: 'str',
    boolean: 'bool',
    array: 'list',
    object: 'group of keys',
    null: 'None',
  };
  const word = python[typeName] ?? typeName;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}
