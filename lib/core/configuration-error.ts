import { IConstruct } from 'constructs';

/**
 * A configuration that cannot work, refused at `cdk synth`.
 *
 * The message names the construct path, the field, what is allowed and what was given, e.g.
 * `TrainingPlatform/Storage: storageCapacityGiB must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got 3000`.
 */
export class ConfigurationError extends Error {
  /** Path of the construct whose props were rejected. */
  public readonly constructPath: string;
  /** The prop (or dotted path into the props) that was rejected. */
  public readonly field: string;

  constructor(scope: IConstruct, field: string, problem: string) {
    // The app itself has an empty path.
    const path = scope.node.path || 'App';
    super(`${path}: ${field} ${problem}`);
    this.name = 'ConfigurationError';
    this.constructPath = path;
    this.field = field;
  }
}
