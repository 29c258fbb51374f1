import type { Principal } from '@platform/contracts';
import { asPrincipal as onBehalfOf, createServiceClient, DomainError, tokensFor, type ServiceTokens } from '@platform/kit';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import { TRPCClientError } from '@trpc/client';

/** What operations needs from knowledge, as a port the domain can be given (or faked in unit tests). */
export interface KnowledgePort {
  /**
   * True when the block exists and `asPrincipal` may see it, false when knowledge says NOT_FOUND;
   * throws when knowledge is unreachable. Asked as that principal (a token operations signs on its
   * behalf), so a task can never point at a block its owner cannot see.
   */
  blockExists(id: string, asPrincipal: Principal): Promise<boolean>;
}

export function knowledgeClient(opts: { baseUrl: string; timeoutMs: number; tokens: ServiceTokens }): KnowledgePort {
  const client = createServiceClient<KnowledgeRouter>({
    baseUrl: opts.baseUrl,
    timeoutMs: opts.timeoutMs,
    getToken: tokensFor(opts.tokens),
  });
  return {
    async blockExists(id, asPrincipal) {
      try {
        await client.blocks.get.query({ id }, onBehalfOf(asPrincipal));
        return true;
      } catch (err) {
        // NOT_FOUND, or an id knowledge refuses as malformed (BAD_REQUEST): either way there is no such block.
        const code = err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
        if (code === 'NOT_FOUND' || code === 'BAD_REQUEST') return false;
        throw new DomainError('SERVICE_UNAVAILABLE', `knowledge is unavailable: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}
