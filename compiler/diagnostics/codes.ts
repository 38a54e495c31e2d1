/**
 * Every diagnostic the front end can emit, in one table, so codes stay unique and the README's table
 * can be generated from it. E0xx: reading the file; E1xx: YAML; E2xx: yacs merge and overrides;
 * E3xx: schema; E4xx: semantic checks; W: warnings (printed, not fatal).
 */
export const diagnosticCodes = {
  E001: 'cannot read file',
  E002: 'file too large',
  E003: 'not a text file',
  E004: 'empty file',
  E101: 'YAML syntax error',
  E102: 'tab used for indentation',
  E103: 'duplicate key',
  E104: 'too many alias expansions',
  E105: 'recursive alias',
  E106: 'document is not a mapping',
  E107: 'more than one document',
  E108: 'nesting too deep',
  E201: 'unknown config key',
  E202: 'type mismatch',
  E203: 'bad override list',
  E204: 'bad Python literal',
  E205: 'compile-time key changed after compiling',
  E301: 'value out of range',
  E302: 'value not allowed',
  E303: 'wrong type',
  E304: 'missing key',
  E305: 'wrong length',
  E306: 'invalid value',
  E401: 'branch counts disagree',
  E402: 'image size not divisible',
  E403: 'heatmap size does not match the model',
  E404: 'transition the official forward cannot run',
  E405: 'LR_STEP not increasing',
  E406: 'epoch range empty',
  E407: 'joint count does not match the dataset',
  E408: 'deconvolution lists disagree',
  E409: 'unknown model',
  W001: 'key ignored by the model',
  W002: 'pretrained layer matches no module',
  W003: 'setting ignored by the official code',
} as const;

export type DiagnosticCode = keyof typeof diagnosticCodes;
