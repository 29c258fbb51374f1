import type { CoreDeps } from '../deps.js';
import { SagaRegistry } from './definition.js';
import { teamOnboardingSaga } from './workflows/team-onboarding.js';

/** The workflow types this service offers through workflows.start. */
export function productionSagas(deps: CoreDeps): SagaRegistry {
  return new SagaRegistry([teamOnboardingSaga(deps)]);
}
