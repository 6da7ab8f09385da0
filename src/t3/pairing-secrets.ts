// t3 prints a one-time pairing token when it starts: the token, a
// `…/pair#token=…` URL and a QR code of that URL, in its journal. Whatever
// reads an instance's output for a log drops those lines: a credential in the
// operator's log is a credential anyone who reads the log can use.

/** A line with a token, a pairing URL, or the block characters a terminal QR code is drawn with. */
const SECRET_LINE = /token|\/pair\b|[\u2580-\u259f]/i;

/** The lines of `output` without the pairing token, its URL and its QR code. */
export function withoutPairingSecrets(lines: readonly string[]): string[] {
  return lines.filter((line) => !SECRET_LINE.test(line));
}
