import fc from 'fast-check';
import { validInputs, clampWaits } from './lib/arbitraries.ts';
import { allProcedures } from './lib/procedures.ts';
const p = allProcedures().find((x) => `${x.service}:${x.path}` === process.argv[2])!;
console.log(JSON.stringify(fc.sample(validInputs(p.input).map(clampWaits), { numRuns: 1, seed: 7 })[0]).slice(0, 200));
