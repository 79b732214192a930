import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TwilioMessaging, TwilioMessagingProps } from '../../lib';

/** Props every test starts from: the smallest valid configuration. */
export const MINIMAL: TwilioMessagingProps = {
  from: '+15005550006',
  defaultRecipients: ['+15005550001'],
};

export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly messaging: TwilioMessaging;
  readonly template: Template;
}

/**
 * The construct in an environment-agnostic stack. `before` adds things the props
 * refer to (existing resources, a VPC) to the same stack; `after` uses the
 * construct (grants, alarms) before the template is synthesized.
 */
export function synth(
  props: Partial<TwilioMessagingProps> = {},
  before?: (stack: Stack) => Partial<TwilioMessagingProps>,
  after?: (messaging: TwilioMessaging, stack: Stack) => void,
): Synthesized {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  const extra = before?.(stack) ?? {};
  const messaging = new TwilioMessaging(stack, 'Alerts', { ...MINIMAL, ...props, ...extra } as TwilioMessagingProps);
  after?.(messaging, stack);
  return { app, stack, messaging, template: Template.fromStack(stack) };
}

/** The logical id of the only resource of a type whose logical id starts with a prefix. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** The environment variables of the function whose logical id starts with a prefix. */
export function environmentOf(template: Template, prefix: string): Record<string, unknown> {
  const id = logicalId(template, 'AWS::Lambda::Function', prefix);
  return template.toJSON().Resources[id].Properties.Environment.Variables;
}

/** A CloudFormation value with Refs/GetAtts/Joins reduced to readable text: `${Ref}` etc. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `\${${v.Ref as string}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  return JSON.stringify(value);
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every Allow statement of the inline policies attached to the role whose logical id starts with a prefix. */
export function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const roleId = logicalId(template, 'AWS::IAM::Role', rolePrefix);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The sorted, de-duplicated actions granted to a role. */
export function actionsOfRole(template: Template, rolePrefix: string): string[] {
  const actions = statementsOfRole(template, rolePrefix).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  return [...new Set(actions)].sort();
}
