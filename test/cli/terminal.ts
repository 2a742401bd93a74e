import { afterEach, beforeEach, type MockInstance, vi } from 'vitest';

/** What a command wrote to the terminal in the current test; a test may clear either to read what comes next. */
export interface Terminal {
  out: string;
  err: string;
}

/**
 * Registers hooks that capture process.stdout and process.stderr for each test of the calling
 * file or describe block, starting empty, and restore both after it.
 */
export function captureTerminal(): Terminal {
  const terminal: Terminal = { out: '', err: '' };
  let writes: MockInstance[] = [];
  beforeEach(() => {
    terminal.out = '';
    terminal.err = '';
    writes = [
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        terminal.out += String(chunk);
        return true;
      }),
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        terminal.err += String(chunk);
        return true;
      }),
    ];
  });
  afterEach(() => {
    for (const write of writes) write.mockRestore();
  });
  return terminal;
}
