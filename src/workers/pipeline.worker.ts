/** Entry of the pipeline Web Worker: exposes the pipeline API (`./pipeline-api.ts`) via comlink. */
import { expose } from 'comlink';
import { createPipelineApi } from './pipeline-api.ts';

expose(createPipelineApi());
