import * as iam from 'aws-cdk-lib/aws-iam';

/** One statement of a `grant…()` method: its Sid names it in the policy, for reviewers and tests. */
export interface NamedGrantOptions {
  readonly sid: string;
  readonly actions: string[];
  readonly resourceArns: string[];
  readonly conditions?: Record<string, Record<string, unknown>>;
}

/**
 * Adds the statements to `grantee`'s policy and returns them as one `iam.Grant` (what aws-cdk-lib's own grant
 * methods return). `iam.Grant.addToPrincipal` has no Sid option: the Sid is set on the statement it added.
 */
export function grantNamedStatements(grantee: iam.IGrantable, statements: readonly NamedGrantOptions[]): iam.Grant {
  return statements
    .map(({ sid, ...options }) => {
      const grant = iam.Grant.addToPrincipal({ grantee, ...options });
      for (const statement of grant.principalStatements) statement.sid = sid;
      return grant;
    })
    .reduce((all, grant) => all.combine(grant));
}
