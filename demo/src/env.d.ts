/** Set by Vite's `define` (see demo/vite.config.ts): where the BFF and the sample API are. */
declare const __BFF_URL__: string;
declare const __SAMPLE_API_URL__: string;
