// The command table of `ringtrace`. A new command is one more entry: bench, sh, repro, record, report,
// convert, help.
import { commandHelp, mainHelp, UsageError, type Command } from './cli.ts';
import { benchCommand } from './bench.ts';
import { shCommand } from './sh.ts';
import { reproCommand } from './repro.ts';
import { convertCommand, recordCommand, reportCommand } from './record.ts';

export const commands: Command[] = [];

const helpCommand: Command = {
  name: 'help',
  summary: 'this list, or the options of one command',
  usage: '[COMMAND]',
  options: [],
  async run(_opts, args, io) {
    if (args.length > 1) throw new UsageError('help takes at most one command name');
    if (args.length === 0) {
      io.out(mainHelp(commands));
      return 0;
    }
    const cmd = commands.find((c) => c.name === args[0]);
    if (!cmd) throw new UsageError(`unknown command '${args[0]}' (commands: ${commands.map((c) => c.name).join(', ')})`);
    io.out(commandHelp(cmd));
    return 0;
  },
};

commands.push(benchCommand, shCommand, reproCommand, recordCommand, reportCommand, convertCommand, helpCommand);
