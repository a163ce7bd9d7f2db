import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { zodProblems } from '../config/config.loader';
import { compareReplay, formatComparison, replayResultSchema } from '../planning/replay/replay-compare';
import { REPLAY_FORMAT, type ReplaySchedule } from '../planning/replay/replay-schedule';

const usage = `usage: npm run plan:compare -- <replay-schedule.json> <replay-result.json>

Sets what the broker refused during a replay (load-tests/replay-plan.js writes replay-result.json)
beside what the simulation predicted for that day (npm run plan writes replay-schedule.json).
Exits 0 when they agree, 1 when they do not, 2 when the files cannot be read.`;

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function main(argv: string[]): number {
  let files: string[];
  try {
    const parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
    if (parsed.values.help) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    files = parsed.positionals;
    if (files.length !== 2) throw new Error('name the schedule and the result');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  try {
    const schedule = readJson(files[0]!) as ReplaySchedule;
    if (schedule?.format !== REPLAY_FORMAT) throw new Error(`${files[0]}: not a replay schedule of ${REPLAY_FORMAT}`);
    const parsed = replayResultSchema.safeParse(readJson(files[1]!));
    if (!parsed.success) throw new Error(`${files[1]}: ${zodProblems(parsed.error).map((p) => `${p.path || '(root)'}: ${p.reason}`).join('; ')}`);
    const comparison = compareReplay(schedule, parsed.data);
    process.stdout.write(formatComparison(comparison));
    return comparison.agrees ? 0 : 1;
  } catch (e) {
    process.stderr.write(`plan:compare: ${(e as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
