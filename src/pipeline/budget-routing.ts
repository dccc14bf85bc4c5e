/**
 * Which budget a request pays: one per model class, as the providers meter them, built from the
 * preset row of the pipeline's tier (or the explicit limits), scaled by `utilization`, with a
 * tenant's share beside the global budget when a tenant is named.
 */
import { findPreset } from '../../policies/find-preset.js';
import { modelClassOf } from '../../policies/models.js';
import type { TierPreset } from '../../policies/types.js';
import { type Clock, systemClock } from '../clock.js';
import { InvalidConfigError, isInvalidConfigError } from '../errors/invalid-config-error.js';
import { Budget, type BudgetDimension } from '../limiter/budget.js';
import type { BudgetStore } from '../limiter/budget-store.js';
import type { Accounting, DimensionName } from './accounting.js';
import { FirstContact } from './first-contact.js';
import { OutputEstimate } from './output-estimate.js';
import type { PipelineLimits } from './pipeline-options.js';
import { type LimitChangeEvent, ProviderFeedback } from './provider-feedback.js';

/** Where one model class's calls are charged. */
export interface BudgetTarget {
  /**
   * The class ('sonnet-4.x'), or 'limits': the budget of bare limits, which also pays for models
   * of no known class when limits stand in for the preset.
   */
  readonly modelClass: string;
  readonly preset?: TierPreset;
  readonly budget: Budget;
  /** How the provider counts output for this class. */
  readonly outputTokens: 'max_tokens' | 'generated';
  /** ITPM counts cache reads too (Anthropic's † classes). */
  readonly countsCacheReads: boolean;
  /** Recent outputs, for `generated` reservations. */
  readonly outputs: OutputEstimate;
  /** Dimensions charged: the global ones, then the tenant's (same names). */
  readonly dimensionCount: number;
  /** First contact with the provider, shared by the workers of a shared store (first-contact.ts). */
  readonly contact: FirstContact;
  /** The provider's headers and unexplained 429s, applied to the budget. */
  readonly feedback: ProviderFeedback;
}

export interface RoutingOptions {
  readonly accounting: Accounting;
  readonly tier?: string;
  readonly preset?: TierPreset;
  readonly model?: string;
  readonly limits?: PipelineLimits;
  readonly periodMs: number;
  readonly utilization: number;
  readonly outputTokens?: 'max_tokens' | 'generated';
  readonly key: string;
  readonly tenant?: string;
  readonly tenantShare: number;
  readonly arrivalLagMs: number;
  readonly store?: BudgetStore;
  readonly clock?: Clock;
  readonly onLimitChange: (event: LimitChangeEvent) => void;
}

export class BudgetRouter {
  private readonly targets = new Map<string, BudgetTarget>();
  /** The target of the pipeline's own model (or of its bare limits). */
  readonly primary: BudgetTarget | undefined;

  constructor(private readonly options: RoutingOptions) {
    const { preset, model, tier, limits } = options;
    if (preset) this.primary = this.target(preset.modelClass, preset);
    else if (model !== undefined && tier !== undefined) this.primary = this.forModel(model);
    else if (tier === undefined && limits) this.primary = this.target('limits', undefined);
  }

  /** The target a request for `model` pays. */
  forModel(model: string | undefined): BudgetTarget {
    const { preset, tier, accounting } = this.options;
    if (preset === undefined && tier === undefined) return this.primary!;
    if (model === undefined) {
      if (this.primary) return this.primary;
      throw new InvalidConfigError('model', 'a model named in the request or the options', model);
    }
    const provider = accounting.provider;
    const modelClass = modelClassOf(provider, model);
    const known = modelClass && this.targets.get(modelClass);
    if (known) return known;
    let row: TierPreset;
    try {
      row = findPreset({
        provider,
        tier: preset?.tier ?? tier!,
        ...(preset ? { scheme: preset.scheme } : {}),
        model,
      });
    } catch (error) {
      // Limits win: where the presets have no row for the model (no known class, or no numbers in
      // this tier), explicit limits naming every dimension make its budget on their own.
      if (!(isInvalidConfigError(error) && this.limitsNameEveryDimension())) throw error;
      return this.target(modelClass ?? 'limits', undefined);
    }
    return this.target(row.modelClass, row);
  }

  private limitsNameEveryDimension(): boolean {
    const { limits, accounting } = this.options;
    return limits !== undefined && accounting.dimensions.every((d) => limits[d] !== undefined);
  }

  /** Every target made so far (for inspect). */
  get all(): readonly BudgetTarget[] {
    return [...this.targets.values()];
  }

  private target(modelClass: string, row: TierPreset | undefined): BudgetTarget {
    const existing = this.targets.get(modelClass);
    if (existing) return existing;
    const o = this.options;
    const names = o.accounting.dimensions;
    const rowLimits = (row?.limits ?? {}) as Partial<Record<DimensionName, number>>;
    const base = `${encodeURIComponent(o.key)}:${o.accounting.provider}:${encodeURIComponent(modelClass)}`;
    const dims: BudgetDimension[] = [];
    const configuredLimits: number[] = [];
    const add = (prefix: string, share: number) => {
      for (const name of names) {
        const configured = o.limits?.[name] ?? rowLimits[name];
        if (share === 1 && configured !== undefined) configuredLimits.push(configured);
        if (configured === undefined) {
          throw new InvalidConfigError(
            `limits.${name}`,
            `a limit for ${name} (${o.accounting.provider} meters ${names.join(', ')})`,
            undefined,
          );
        }
        const limit = Math.max(1, Math.floor(configured * o.utilization * share));
        dims.push({
          name,
          key: `${prefix}:${name}`,
          limit,
          periodMs: o.periodMs,
          arrivalLagMs: o.arrivalLagMs,
        });
      }
    };
    add(base, 1);
    if (o.tenant !== undefined)
      add(`${base}:tenant:${encodeURIComponent(o.tenant)}`, o.tenantShare);
    const outputTokens =
      o.outputTokens ?? (row?.outputTokens === 'generated' ? 'generated' : 'max_tokens');
    const budget = new Budget({
      dimensions: dims,
      ...(o.store ? { store: o.store } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    const feedback = new ProviderFeedback({
      provider: o.accounting.provider,
      modelClass,
      budget,
      dimensions: names,
      configured: configuredLimits,
      utilization: o.utilization,
      periodMs: o.periodMs,
      onLimitChange: o.onLimitChange,
    });
    const shared = o.store?.contact;
    const clock = o.clock ?? systemClock;
    const outputs = new OutputEstimate();
    const target: BudgetTarget = {
      modelClass,
      ...(row ? { preset: row } : {}),
      budget,
      outputTokens,
      countsCacheReads: row?.countsCacheReads === true,
      outputs,
      dimensionCount: names.length,
      contact: new FirstContact({
        // One contact per budget: the global dimensions' key prefix names it.
        ...(shared ? { shared: { contact: shared, name: base } } : {}),
        onNotice: (notice) => {
          if (notice.stoppedUntil !== undefined) feedback.stopped(notice.stoppedUntil);
          if (notice.limits) feedback.adopt(notice.limits);
          if (notice.output !== undefined) outputs.observe(notice.output);
          if (notice.cutAt !== undefined) feedback.cutHeard(notice.cutAt, clock.now());
        },
      }),
      feedback,
    };
    this.targets.set(modelClass, target);
    return target;
  }
}
