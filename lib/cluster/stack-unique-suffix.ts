import { Aws, Fn } from 'aws-cdk-lib';

/**
 * The UUID at the end of the stack's ID (`arn:…:stack/<name>/<uuid>`), as a deploy-time token: the same for
 * the whole life of one stack, different for another stack and for the same stack after it was deleted and
 * created again. Physical names built from it never collide with a retained resource of an earlier stack.
 */
export function stackUniqueSuffix(): string {
  return Fn.select(2, Fn.split('/', Aws.STACK_ID));
}
