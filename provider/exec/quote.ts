/**
 * The one place where words cross a shell: OpenSSH hands the remote side a single string that
 * the user's login shell parses (`$SHELL -c STRING`), so every word is quoted here and nowhere
 * else. A word made only of characters no POSIX shell treats specially is left as it is (the
 * remote command stays readable in errors; "=" is left out, since a first word with it would
 * be an assignment); anything else is put in single quotes, inside
 * which nothing is special except the quote itself, written as '\''.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A whole argv as one shell line: each word quoted, joined by spaces. */
export function shellLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty argv");
  return argv.map(shellQuote).join(" ");
}
