import { type Command, Option } from 'commander';

/** --dataDir/--modelDir/--logDir, as the official tools/train.py and tools/test.py take them. */
export function addDirectoryOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--dataDir <dir>',
        'data directory, joined in front of DATASET.ROOT, MODEL.PRETRAINED, TEST.MODEL_FILE',
      ),
    )
    .addOption(new Option('--modelDir <dir>', 'sets OUTPUT_DIR'))
    .addOption(new Option('--logDir <dir>', 'sets LOG_DIR'));
}

export interface DirectoryFlags {
  dataDir?: string;
  modelDir?: string;
  logDir?: string;
}
