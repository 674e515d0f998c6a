// @hey-api/openapi-ts configuration: the committed contract in, src/gen out.
// The generated code is not committed; `npm run build` regenerates it.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: '../../proto/gen/openapi/kefu.openapi.json',
  output: {
    path: 'src/gen',
    // The package is ESM compiled with moduleResolution NodeNext: relative
    // imports need their .js extension.
    importFileExtension: '.js',
  },
  // Errors go to the terminal (and fail the build), not to log files here.
  logs: { file: false, level: 'warn' },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
});
