export { watchTokens, getCurrentToken, InvalidUserIdError, type TokenWatch, type WatchTokensOptions } from './token-feed.ts';
