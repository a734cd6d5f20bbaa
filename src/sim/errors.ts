/**
 * RouterOS console errors. The message is printed verbatim on stdout (RouterOS never uses stderr or
 * the exit status for command errors); `parse` errors abort the whole line before anything runs.
 */
export class RosError extends Error {
  constructor(
    message: string,
    readonly phase: "parse" | "runtime" = "runtime",
  ) {
    super(message);
    this.name = "RosError";
  }
}

const at = (col: number): string => `(line 1 column ${col})`;

export const rosErrors = {
  badCommandName: (word: string, col: number) => new RosError(`bad command name ${word} ${at(col)}`, "parse"),
  syntax: (col: number) => new RosError(`syntax error ${at(col)}`, "parse"),
  expectedEnd: (col: number) => new RosError(`expected end of command ${at(col)}`, "parse"),
  badParameter: (name: string, col: number) => new RosError(`bad parameter ${name} ${at(col)}`, "parse"),
  expectedCommandName: (col: number) => new RosError(`expected command name ${at(col)}`, "parse"),
  expectedInputValue: (col: number) => new RosError(`expected input value ${at(col)}`, "parse"),
  expectedItemId: (col: number, phase: "parse" | "runtime" = "runtime") =>
    new RosError(`expected item id ${at(col)}`, phase),
  noSuchItem: () => new RosError("no such item"),
  noMatch: (arg: string) => new RosError(`input does not match any value of ${arg}`),
  invalidValue: (arg: string) => new RosError(`invalid value for argument ${arg}`),
  missingArgs: (args: readonly string[]) => new RosError(`missing value(s) of argument(s) ${args.join(" ")}`),
  ambiguous: (arg: string) =>
    new RosError(`ambiguous value of ${arg}, more than one possible value matches input`),
  failure: (message: string) => new RosError(`failure: ${message}`),
  plain: (message: string) => new RosError(message),
};
