/** Character cursor over one command line; columns are 1-based byte offsets, as RouterOS reports. */
export class Scanner {
  pos = 0;
  /** Byte columns by character position; undefined while the line is ASCII (column = position + 1). */
  private readonly byteCols: number[] | undefined;

  constructor(readonly src: string) {
    // The usual line is ASCII: its columns need no table (a 12 KB line would build one per parse).
    if (!/[^\x00-\x7f]/.test(src)) return;
    this.byteCols = new Array<number>(src.length + 1);
    let bytes = 0;
    for (let i = 0; i < src.length; i++) {
      this.byteCols[i] = bytes + 1;
      const code = src.charCodeAt(i);
      if (code < 0x80) bytes += 1;
      else if (code < 0x800) bytes += 2;
      else if (code >= 0xd800 && code <= 0xdbff) bytes += 2;
      else if (code >= 0xdc00 && code <= 0xdfff) bytes += 2;
      else bytes += 3;
    }
    this.byteCols[src.length] = bytes + 1;
  }

  col(pos: number = this.pos): number {
    const at = Math.min(pos, this.src.length);
    return this.byteCols === undefined ? at + 1 : (this.byteCols[at] as number);
  }

  peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  eof(): boolean {
    return this.pos >= this.src.length;
  }

  /** Skips spaces and tabs; returns whether any were skipped. */
  skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.src.length && (this.src[this.pos] === " " || this.src[this.pos] === "\t"))
      this.pos++;
    return this.pos > start;
  }

  /** Consumes the longest run of characters matching `re` (a single-character class). */
  take(re: RegExp): string {
    const start = this.pos;
    while (this.pos < this.src.length && re.test(this.src[this.pos] as string)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  startsWith(text: string): boolean {
    return this.src.startsWith(text, this.pos);
  }
}
