/**
 * `llm-resilience plan`: which limit binds for a traffic shape, the most calls per minute that
 * fit, the calls in flight, and the pipeline options to use. Arguments: plan-args.ts; the
 * arithmetic: src/planning/capacity-plan.ts; the output: ../plan-report.ts.
 */
import { readFileSync } from 'node:fs';
import { isInvalidConfigError } from '../../errors/invalid-config-error.js';
import { planCapacity } from '../../planning/capacity-plan.js';
import { runParsed } from '../command-args.js';
import { buildReport, reportJson, reportText } from '../plan-report.js';
import { type PlanRequest, parsePlanArgs, planUsage } from './plan-args.js';

export function run(argv: readonly string[]): Promise<number> {
  return runParsed(
    parsePlanArgs(argv, (path) => readFileSync(path, 'utf8')),
    { name: 'plan', usage: planUsage },
    async ({ request }) => plan(request),
  );
}

function plan(request: PlanRequest): number {
  let plan: ReturnType<typeof planCapacity>;
  try {
    plan = planCapacity({
      limits: request.limits,
      traffic: request.traffic,
      counting: request.counting,
      latencyMs: request.latencyMs,
      utilization: request.utilization,
    });
  } catch (error) {
    if (!isInvalidConfigError(error)) throw error;
    console.error(error.message);
    return 2;
  }
  const report = buildReport(request, plan);
  console.log(request.json ? reportJson(report) : reportText(report));
  return 0;
}
