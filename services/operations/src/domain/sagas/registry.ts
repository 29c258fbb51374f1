import type { CoreDeps } from '../deps.js';
import { SagaRegistry } from './definition.js';
import { teamOnboardingSaga } from './definitions/team-onboarding.js';

/** The saga types this service offers through sagas.start. */
export function productionSagas(deps: CoreDeps): SagaRegistry {
  return new SagaRegistry([teamOnboardingSaga(deps)]);
}
