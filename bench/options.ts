/** The value after `--name` on a benchmark's command line, if the option is there. */
export function optionValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}
