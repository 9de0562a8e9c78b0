// An open file fed with words (trace_get_user()'s parser), applied one by one as they complete and
// committed at release: the shape of ftrace_regex_write / ftrace_regex_release and of
// ftrace_graph_write / ftrace_graph_release. The first failing word fails its write() and, like echo,
// nothing after it arrives; a word still in the parser at close is applied then (its error ignored).
import { RingtraceError } from '../errors.ts';
import { FilterWriteParser } from '../ftrace/filter.ts';
import type { OpenFile } from './node.ts';

export abstract class WordFile implements OpenFile {
  private readonly parser = new FilterWriteParser();
  private failed = false;
  private closed = false;

  // throws when the file's subsystem refuses writes (ftrace_disabled: ENODEV)
  protected abstract checkWritable(): void;
  protected abstract apply(word: string, atClose: boolean): Promise<void>;
  // the release's commit; `writable` is false once the subsystem refuses changes
  protected abstract commit(writable: boolean): Promise<void>;
  protected abstract writable(): boolean;

  async write(text: string): Promise<void> {
    if (this.closed) throw new RingtraceError('EINVAL', 'the file is closed');
    this.checkWritable();
    const { words, error } = this.parser.write(text);
    for (const w of words) {
      try {
        await this.apply(w, false);
      } catch (err) {
        this.failed = true;
        this.parser.close();
        throw err;
      }
    }
    if (error) throw error;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const last = this.parser.close();
    if (last !== null && !this.failed && this.writable()) {
      try {
        await this.apply(last, true);
      } catch {
        // the release ignores what the last word gave
      }
    }
    await this.commit(this.writable());
  }
}
