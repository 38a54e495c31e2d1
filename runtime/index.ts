export type {
  ArenaTensor,
  Binding,
  Dispatch,
  ForwardProgram,
  KernelInfo,
  Manifest,
  ParameterInfo,
  WeightEntry,
  WeightLayout,
  WeightSource,
} from './program.ts';
