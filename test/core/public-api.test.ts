// The vocabulary of the public API (lib/index.ts), read from its types with the TypeScript checker: what a
// platform team relies on when it composes these constructs with aws-cdk-lib's.
import * as path from 'path';
import * as ts from 'typescript';
import { API_COMPILER_OPTIONS } from '../api-compiler-options';

const ROOT = path.join(__dirname, '..', '..');
const INDEX = path.join(ROOT, 'lib', 'index.ts');

/** Interfaces of constructs that are not one resource, with the reason. */
const NOT_RESOURCES: Record<string, string> = {
  ITrainingNetwork: 'a set of resources: its VPC, subnet and security group are each an IResource',
  IClusterObservability: 'a contract (what a cluster asks of its observability), not a resource',
};

interface Api { checker: ts.TypeChecker; exports: ts.Symbol[]; program: ts.Program }

function loadApi(): Api {
  const program = ts.createProgram([INDEX], API_COMPILER_OPTIONS);
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  return { checker, program, exports: checker.getExportsOfModule(index) };
}

function declarationOf(api: Api, symbol: ts.Symbol): ts.Declaration | undefined {
  const target = symbol.flags & ts.SymbolFlags.Alias ? api.checker.getAliasedSymbol(symbol) : symbol;
  return target.declarations?.[0];
}

function isDeprecated(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'deprecated');
}

function isPublic(member: ts.ClassElement): boolean {
  const flags = ts.getCombinedModifierFlags(member as ts.Declaration);
  return !(flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !(member.name && ts.isPrivateIdentifier(member.name));
}

describe('the public API', () => {
  const api = loadApi();
  const classes = api.exports.map((s) => declarationOf(api, s)).filter((d): d is ts.ClassDeclaration => !!d && ts.isClassDeclaration(d));
  const interfaces = api.exports.map((s) => declarationOf(api, s)).filter((d): d is ts.InterfaceDeclaration => !!d && ts.isInterfaceDeclaration(d));

  test('every grant…() method returns iam.Grant', () => {
    const methods = classes.flatMap((c) => c.members
      .filter((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && isPublic(m) && /^grant/.test(m.name.getText()))
      .map((m) => {
        const signature = api.checker.getSignatureFromDeclaration(m)!;
        return `${c.name!.text}.${m.name.getText()}: ${api.checker.typeToString(signature.getReturnType())}`;
      }));
    expect(methods.length).toBeGreaterThanOrEqual(4);
    expect(methods.filter((m) => !m.endsWith(': Grant'))).toEqual([]);
  });

  test('every import is `static fromXxxAttributes`, named after its class; other names are deprecated aliases', () => {
    const imports = classes.flatMap((c) => c.members
      .filter((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && isPublic(m)
        && (ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static) !== 0 && /^from.*Attributes$/.test(m.name.getText()))
      .map((m) => ({ name: `${c.name!.text}.${m.name.getText()}`, ok: m.name.getText() === `from${c.name!.text}Attributes` || isDeprecated(m) })));
    expect(imports.map((i) => i.name)).toEqual(expect.arrayContaining([
      'HyperPodCluster.fromHyperPodClusterAttributes', 'LustreStorage.fromLustreStorageAttributes',
      'ModelEndpoint.fromModelEndpointAttributes', 'TrainingNetwork.fromTrainingNetworkAttributes',
    ]));
    expect(imports.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  });

  test('the interface of each construct class extends IResource (or says why it is not one)', () => {
    const classNames = new Set(classes.map((c) => c.name!.text));
    const resourceInterfaces = interfaces.filter((i) => classNames.has(i.name.text.slice(1)) || i.name.text in NOT_RESOURCES);
    const extendsResource = (i: ts.InterfaceDeclaration) => api.checker.getBaseTypes(api.checker.getTypeAtLocation(i) as ts.InterfaceType)
      .some(function isResource(t): boolean {
        return t.symbol?.name === 'IResource' || (api.checker.getBaseTypes(t as ts.InterfaceType) ?? []).some(isResource);
      });
    expect(resourceInterfaces.map((i) => i.name.text)).toEqual(expect.arrayContaining(['IHyperPodCluster', 'ILustreStorage', 'IModelEndpoint']));
    expect(resourceInterfaces.filter((i) => !extendsResource(i) && !(i.name.text in NOT_RESOURCES)).map((i) => i.name.text)).toEqual([]);
  });

  test('no module but the planner\'s re-exports a CLI part (argument parsing, rendering, the quota client)', () => {
    // lib/planner/index.ts decides what of the planner is public; every other module must not reach into the CLI.
    const cliFile = /lib\/(cli\/|planner\/(cli|quota-check))/;
    const offenders = api.program.getSourceFiles()
      .filter((f) => f.fileName.startsWith(path.join(ROOT, 'lib')) && !f.fileName.startsWith(path.join(ROOT, 'lib', 'planner')))
      .flatMap((f) => f.statements.filter(ts.isExportDeclaration)
        .filter((e) => e.moduleSpecifier && ts.isStringLiteral(e.moduleSpecifier))
        .filter((e) => cliFile.test(path.resolve(path.dirname(f.fileName), (e.moduleSpecifier as ts.StringLiteral).text)))
        .map((e) => `${path.relative(ROOT, f.fileName)}: ${e.getText()}`));
    expect(offenders).toEqual([]);
  });
});
