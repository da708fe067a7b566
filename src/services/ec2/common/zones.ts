// A zone named by its name (us-east-1a) or its id (use1-az1), as DescribeAvailabilityZones lists them.
import { zoneId, zonesOf } from '../../../config.js';
import { Errors } from '../../errors.js';
import type { Ctx } from '../../context.js';

/**
 * The zone name that `name` or `id` gives, undefined when neither is; EC2 takes one or the other,
 * never both. `param` is the member's wire name before its suffix (availabilityZone).
 */
export function resolveZone(
  ctx: Ctx,
  given: { name?: string; id?: string },
  param = 'availabilityZone',
  /** The operation's own wording for a zone that is not one of these (CreateSubnet lists them). */
  invalid?: (member: string, value: string, choices: string[]) => string,
): string | undefined {
  const zones = zonesOf(ctx.config, ctx.region);
  if (given.name !== undefined && given.id !== undefined) {
    throw Errors.invalidParameterCombination(`Only one of ${param} or ${param}Id can be specified.`);
  }
  if (given.name !== undefined) {
    if (!zones.includes(given.name)) throw Errors.invalidParameterValue(invalid ? invalid(param, given.name, zones) : `Invalid availability zone: [${given.name}]`);
    return given.name;
  }
  if (given.id !== undefined) {
    const zone = zones.find((z) => zoneId(z) === given.id);
    if (!zone) {
      const ids = zones.map(zoneId);
      throw Errors.invalidParameterValue(
        invalid ? invalid(`${param}Id`, given.id, ids) : `Value (${given.id}) for parameter ${param}Id is invalid. The zone ids of ${ctx.region} are: ${ids.join(', ')}.`,
      );
    }
    return zone;
  }
  return undefined;
}
