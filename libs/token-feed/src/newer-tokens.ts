import { TokenRefreshed } from '@refresher/contracts';

const decoder = new TextDecoder();

/** Per user, only tokens later than the last one let through; what does not parse (or is another user's) is counted. */
export class NewerTokens {
  invalid = 0;
  private readonly latest = new Map<string, number>();

  constructor(private readonly userID: string | undefined) {}

  admit(data: Uint8Array): TokenRefreshed | null {
    const token = parseToken(data);
    if (!token || (this.userID !== undefined && token.userID !== this.userID)) {
      this.invalid += 1;
      return null;
    }
    const loginTime = Date.parse(token.loginTime);
    const previous = this.latest.get(token.userID);
    if (previous !== undefined && loginTime <= previous) return null;
    this.latest.set(token.userID, loginTime);
    return token;
  }
}

export function parseToken(data: Uint8Array): TokenRefreshed | null {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  const parsed = TokenRefreshed.safeParse(json);
  return parsed.success ? parsed.data : null;
}
