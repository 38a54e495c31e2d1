/**
 * Compiles the named kernels into compute pipelines, concurrently, checking each shader's compilation
 * messages so that a broken kernel is reported by name and line rather than as an invalid pipeline.
 */
export async function createPipelines(
  device: GPUDevice,
  names: readonly string[],
  kernels: ReadonlyMap<string, string>,
  what: string,
): Promise<Map<string, GPUComputePipeline>> {
  device.pushErrorScope('validation');
  const pipelines = await Promise.all(
    names.map(async (name) => {
      const code = kernels.get(name);
      if (code === undefined) throw new Error(`kernel ${name} is missing from the program's kernels/`);
      const module = device.createShaderModule({ code, label: name });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0)
        throw new Error(
          `kernel ${name} does not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`,
        );
      const pipeline = await device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: name,
      });
      return [name, pipeline] as const;
    }),
  );
  const error = await device.popErrorScope();
  if (error) throw new Error(`creating ${what} pipelines failed: ${error.message}`);
  return new Map(pipelines);
}
