import { randomBytes, randomUUID } from 'node:crypto';
import { listen, LocalServer, readBody } from './http';

/**
 * A small CloudFormation (Query protocol, XML answers), reached with
 * AWS_ENDPOINT_URL_CLOUDFORMATION: GetTemplate and DescribeStackResource of
 * stacks "deployed" with `deploy`, which gives every resource a physical id
 * and resolves the intrinsic functions of its Metadata as CloudFormation
 * does (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and the pseudo
 * parameters), so a test reads back what the real construct records.
 */
export interface FakeCloudFormation extends LocalServer {
  /** Deploys a synthesized template under a stack name; resolves with its resources' values. */
  deploy(stackName: string, template: CfnTemplate, options?: DeployOptions): DeployedStack;
  /** Answers every call of this action (`GetTemplate`, `DescribeStackResource`) 403 AccessDenied, as IAM does; undefined: none. */
  deny(action: string | undefined): void;
  /** Every call, by action. */
  readonly calls: string[];
}

export interface CfnTemplate {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly Metadata?: Record<string, unknown> }>;
}

export interface DeployOptions {
  readonly region?: string;
  readonly account?: string;
  /** Physical ids (what Ref answers) to use instead of made-up ones, by logical id. */
  readonly refs?: Record<string, string>;
}

export interface DeployedStack {
  readonly stackId: string;
  /** What `Ref` answers for a logical id. */
  ref(logicalId: string): string;
  /** An intrinsic-function value of the template resolved (e.g. a key policy). */
  resolve(value: unknown): unknown;
  /** The logical ids of a resource type. */
  logicalIds(type: string): string[];
}

const XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The physical id CloudFormation would give a resource of this type, and its GetAtt attributes. */
function physical(type: string, logicalId: string, region: string, account: string): { ref: string; attrs: Record<string, string> } {
  const suffix = randomBytes(4).toString('hex').toUpperCase();
  switch (type) {
    case 'AWS::SNS::Topic': {
      const arn = `arn:aws:sns:${region}:${account}:${logicalId}-${suffix}`;
      return { ref: arn, attrs: { TopicArn: arn, TopicName: `${logicalId}-${suffix}` } };
    }
    case 'AWS::SecretsManager::Secret':
      return { ref: `arn:aws:secretsmanager:${region}:${account}:secret:${logicalId}-${suffix.slice(0, 6)}`, attrs: {} };
    case 'AWS::KMS::Key': {
      const id = randomUUID();
      return { ref: id, attrs: { Arn: `arn:aws:kms:${region}:${account}:key/${id}`, KeyId: id } };
    }
    case 'AWS::DynamoDB::Table':
      return { ref: `${logicalId}-${suffix}`, attrs: { Arn: `arn:aws:dynamodb:${region}:${account}:table/${logicalId}-${suffix}` } };
    case 'AWS::ApiGateway::RestApi':
      return { ref: randomBytes(5).toString('hex'), attrs: { RootResourceId: randomBytes(3).toString('hex') } };
    case 'AWS::SQS::Queue': {
      const name = `${logicalId}-${suffix}`;
      return { ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`, attrs: { Arn: `arn:aws:sqs:${region}:${account}:${name}`, QueueName: name } };
    }
    default: {
      const name = `${logicalId}-${suffix}`;
      return { ref: name, attrs: { Arn: `arn:aws:${type.split('::')[1].toLowerCase()}:${region}:${account}:${name}` } };
    }
  }
}

export async function startFakeCloudFormation(): Promise<FakeCloudFormation> {
  const stacks = new Map<string, { stackId: string; template: CfnTemplate; deployed: DeployedStack }>();
  const calls: string[] = [];
  let denied: string | undefined;
  const server = await listen(async (req, res) => {
    const params = new URLSearchParams((await readBody(req)).toString('utf8'));
    const action = params.get('Action') ?? '';
    calls.push(action);
    const requestId = randomUUID();
    const xml = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(body);
    };
    const error = (status: number, code: string, message: string) =>
      xml(status, `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    const ok = (result: string) => xml(200, `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`);
    if (denied === action) {
      return error(403, 'AccessDenied', `User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:${action} on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/${params.get('StackName')}/* because no identity-based policy allows the cloudformation:${action} action`);
    }
    const name = params.get('StackName') ?? '';
    const stack = stacks.get(name);
    if (!stack) return error(400, 'ValidationError', `Stack with id ${name} does not exist`);
    switch (action) {
      case 'GetTemplate':
        return ok(`<TemplateBody>${escape(JSON.stringify(stack.template))}</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>`);
      case 'DescribeStackResource': {
        const logicalId = params.get('LogicalResourceId') ?? '';
        const resource = stack.template.Resources[logicalId];
        if (!resource) return error(400, 'ValidationError', `Resource ${logicalId} does not exist for stack ${name}`);
        const metadata = resource.Metadata ? `<Metadata>${escape(JSON.stringify(stack.deployed.resolve(resource.Metadata)))}</Metadata>` : '';
        return ok(
          `<StackResourceDetail><StackName>${escape(name)}</StackName><StackId>${escape(stack.stackId)}</StackId><LogicalResourceId>${escape(logicalId)}</LogicalResourceId>` +
            `<PhysicalResourceId>${escape(stack.deployed.ref(logicalId))}</PhysicalResourceId><ResourceType>${escape(resource.Type)}</ResourceType>` +
            `<LastUpdatedTimestamp>${new Date().toISOString()}</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus>${metadata}</StackResourceDetail>`,
        );
      }
      default:
        return error(400, 'InvalidAction', `not faked: ${action}`);
    }
  });

  return {
    ...server,
    calls,
    deny: (action) => {
      denied = action;
    },
    deploy(stackName, template, options = {}) {
      const region = options.region ?? 'us-east-1';
      const account = options.account ?? '123456789012';
      const values = new Map<string, { ref: string; attrs: Record<string, string> }>();
      for (const [id, r] of Object.entries(template.Resources)) {
        const made = physical(r.Type, id, region, account);
        values.set(id, options.refs?.[id] ? { ref: options.refs[id], attrs: { ...made.attrs, Arn: options.refs[id] } } : made);
      }
      const pseudo: Record<string, string> = { 'AWS::Region': region, 'AWS::AccountId': account, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': stackName };
      const resolve = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(resolve);
        if (typeof v !== 'object' || v === null) return v;
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 1) {
          const [k] = keys;
          const arg = o[k];
          if (k === 'Ref') {
            const name = String(arg);
            if (pseudo[name] !== undefined) return pseudo[name];
            const found = values.get(name);
            if (!found) throw new Error(`fake CloudFormation: Ref to unknown ${name}`);
            return found.ref;
          }
          if (k === 'Fn::GetAtt') {
            const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
            const value = values.get(id)?.attrs[attr];
            if (value === undefined) throw new Error(`fake CloudFormation: no attribute ${id}.${attr}`);
            return value;
          }
          if (k === 'Fn::Join') {
            const [sep, parts] = arg as [string, unknown[]];
            return (resolve(parts) as unknown[]).join(sep);
          }
          if (k === 'Fn::Select') {
            const [index, list] = arg as [number | string, unknown];
            return (resolve(list) as unknown[])[Number(index)];
          }
          if (k === 'Fn::Split') {
            const [sep, text] = arg as [string, unknown];
            return String(resolve(text)).split(sep);
          }
          if (k.startsWith('Fn::')) throw new Error(`fake CloudFormation: ${k} is not faked`);
        }
        return Object.fromEntries(Object.entries(o).map(([key, value]) => [key, resolve(value)]));
      };
      const stackId = `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/${randomUUID()}`;
      const deployed: DeployedStack = {
        stackId,
        ref: (id) => {
          const found = values.get(id);
          if (!found) throw new Error(`fake CloudFormation: no resource ${id}`);
          return found.ref;
        },
        resolve,
        logicalIds: (type) => Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id),
      };
      stacks.set(stackName, { stackId, template, deployed });
      return deployed;
    },
  };
}
