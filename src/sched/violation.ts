// A violation raised by model code or by a program's invariant/final check.

export class Violation extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'Violation';
  }
}
