/**
 * What the token-exchange pipeline reports after each named step (issue 16): the step's name (a constant in
 * code, so a bounded label value), how long it took and how it ended. Metrics and tracing both listen; the
 * pipeline calls one observer, the fan-out below.
 */
/** As the pipeline's runner reports them (src/token-endpoint/pipeline/runner.ts). */
export type StepOutcome = 'established' | 'refused' | 'failed';

export interface StepObserver {
  /** Called in the exchange's async context, right after the step ended. */
  /** `outcome`: a StepOutcome; any other value is counted as `failed`. */
  onStep(step: string, durationMs: number, outcome: string): void;
}

export function fanOut(observers: readonly (StepObserver | undefined)[]): StepObserver {
  const present = observers.filter((o): o is StepObserver => o !== undefined);
  if (present.length === 1 && present[0]) return present[0];
  return {
    onStep(step, durationMs, outcome) {
      for (const observer of present) observer.onStep(step, durationMs, outcome);
    },
  };
}
