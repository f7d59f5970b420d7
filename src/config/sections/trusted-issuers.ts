/**
 * `trusted_issuers`: the identity providers whose user tokens the broker accepts (STANDARDS.md, attack
 * families: never HS* or `none`, https only off loopback), plus the development identity provider when it runs.
 */
import { z } from 'zod';
import type { TrustedIssuer } from '../../domain/broker-config.js';
import { algorithmSchema } from '../load-agents.js';
import { durationSeconds, nonEmptyString, uniqueList } from '../validate.js';
import { remoteUrlProblem, urlSchema } from '../urls.js';
import { defineSection } from './section.js';

export const DEFAULT_TRUSTED_ALGORITHMS = ['ES256', 'RS256'] as const;

const trustedIssuerSchema = z.strictObject({
  issuer: urlSchema((value) => remoteUrlProblem(value, false)),
  jwks_uri: urlSchema((value) => remoteUrlProblem(value, true)).optional(),
  audiences: uniqueList(nonEmptyString, 'audience').min(1),
  algorithms: uniqueList(algorithmSchema, 'algorithm')
    .min(1)
    .default([...DEFAULT_TRUSTED_ALGORITHMS]),
  scope_claim: z.enum(['scope', 'scp']).default('scope'),
  token_types: uniqueList(nonEmptyString, 'token type').min(1).default(['at+jwt']),
  max_token_age: durationSeconds().optional(),
  issues_actor_tokens: z.boolean().default(false),
});

export const trustedIssuersSection = defineSection({
  name: 'trusted-issuers',
  shape: { trusted_issuers: z.array(trustedIssuerSchema).optional() },
  assemble({ trusted_issuers: entries }, ctx) {
    const trusted: TrustedIssuer[] = [];
    const seen = new Set<string>();
    (entries ?? []).forEach((entry, index) => {
      if (seen.has(entry.issuer)) {
        ctx.report(`trusted_issuers[${index}].issuer`, `repeats the trusted issuer "${entry.issuer}"`);
        return;
      }
      seen.add(entry.issuer);
      trusted.push({
        issuer: entry.issuer,
        ...(entry.jwks_uri === undefined ? {} : { jwksUri: entry.jwks_uri }),
        audiences: entry.audiences,
        algorithms: entry.algorithms,
        scopeClaim: entry.scope_claim,
        tokenTypes: entry.token_types,
        ...(entry.max_token_age === undefined ? {} : { maxTokenAgeSeconds: entry.max_token_age }),
        issuesActorTokens: entry.issues_actor_tokens,
      });
    });
    // The development identity provider, when it runs, issues tokens for this broker.
    const { devIdpPort, issuer } = ctx.settings;
    if (devIdpPort && issuer) {
      const devIssuer = `http://localhost:${devIdpPort.value}`;
      if (!seen.has(devIssuer)) {
        trusted.push({ issuer: devIssuer, audiences: [issuer.value], algorithms: ['ES256'], scopeClaim: 'scope', tokenTypes: ['at+jwt'], issuesActorTokens: false });
      }
    }
    return { trustedIssuers: trusted };
  },
});
