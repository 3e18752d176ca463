// The parser of the .llava language: a chevrotain CstParser with error recovery, so one run reports
// every syntax error it can find. The CST it builds is turned into the AST by ./build-ast.ts.
import { CstParser, EOF, type CstNode, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";

const NUMBER = new Set<TokenType>([T.IntLit, T.FloatLit]);

function describe(token: IToken): string {
  if (token.tokenType === EOF) return "end of file";
  return "`" + token.image + "`";
}

function expectedList(types: TokenType[]): string {
  const labels = [...new Set(types.map(label))];
  if (labels.length <= 1) return labels[0] ?? "something else";
  return labels.slice(0, -1).join(", ") + " or " + labels[labels.length - 1];
}

export function label(t: TokenType): string {
  switch (t) {
    case T.Identifier:
    case T.Name:
      return "a name";
    case T.StringLit:
    case T.UnterminatedString:
      return "a string";
    case T.IntLit:
      return "an integer";
    case T.FloatLit:
      return "a number";
    case T.RegexLit:
      return "a regex";
    case T.Percent:
      return "a percentage";
    case T.TooDeep:
      return "a value";
    case EOF:
      return "end of file";
    default: {
      const p = t.PATTERN;
      if (p instanceof RegExp) return "`" + p.source.replace(/\\/g, "").replace(/\(\?!.*\)$/, "") + "`";
      return t.name;
    }
  }
}

// Messages in the compiler's voice ("expected `}`, found `model`") rather than chevrotain's.
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${label(expected)}, found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}: expected a declaration (\`import\`, \`schema\`, \`enum\`, \`type\`, \`let\` or \`<kind> <name> { ... }\`)`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const firsts = expectedPathsPerAlt
      .flat()
      .map((path) => path[0])
      .filter((t): t is TokenType => t !== undefined);
    const what = RULE_NOUNS[ruleName] ?? expectedList(firsts);
    return `expected ${what}, found ${describe(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    const firsts = expectedIterationPaths.map((p) => p[0]).filter((t): t is TokenType => t !== undefined);
    return `expected ${expectedList(firsts)}, found ${describe(actual[0]!)}`;
  },
};

const RULE_NOUNS: Record<string, string> = {
  topDecl: "a declaration (`import`, `schema`, `enum`, `type`, `let` or `<kind> <name> { ... }`)",
  primary: "a value",
  typeAtom: "a type",
  constraint: 'a constraint such as `>= 1` or `=~ "^[a-z]"`',
  instanceBody: "`{` or `=` after the declared name",
  unit: "a unit (`step`, `micro-batch`, ...)",
  unary: "a value",
  postfix: "a value",
  expr: "a value",
  multiplicative: "a value",
  fieldValue: "a value",
};

export class LlavaParser extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "onlyOffset",
      maxLookahead: 3,
      errorMessageProvider: messages,
      skipValidations: process.env.LLAVAC_VALIDATE_GRAMMAR !== "1",
    });
    this.performSelfAnalysis();
  }

  public file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.SUBRULE(this.importDecl) }, { ALT: () => this.SUBRULE(this.topDecl) }]);
    });
  });

  private importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.LCurly);
          this.OPTION(() => {
            this.SUBRULE(this.importSpec);
            this.MANY({
              GATE: () => this.LA(2).tokenType !== T.RCurly,
              DEF: () => {
                this.CONSUME(T.Comma);
                this.SUBRULE2(this.importSpec);
              },
            });
            this.OPTION2(() => this.CONSUME2(T.Comma));
          });
          this.CONSUME(T.RCurly);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Star);
          this.CONSUME(T.As);
          this.CONSUME(T.Identifier, { LABEL: "namespace" });
        },
      },
    ]);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLit, { LABEL: "path" });
  });

  private importSpec = this.RULE("importSpec", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME2(T.Identifier, { LABEL: "alias" });
    });
  });

  private topDecl = this.RULE("topDecl", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.schemaDecl) },
      { ALT: () => this.SUBRULE(this.enumDecl) },
      { ALT: () => this.SUBRULE(this.letDecl) },
      { ALT: () => this.SUBRULE(this.typeDecl) },
      { ALT: () => this.SUBRULE(this.instanceDecl) },
    ]);
  });

  private schemaDecl = this.RULE("schemaDecl", () => {
    this.CONSUME(T.Schema);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.schemaField));
    this.CONSUME(T.RCurly);
  });

  private schemaField = this.RULE("schemaField", () => {
    this.CONSUME(T.Name, { LABEL: "name" });
    this.OPTION(() => this.CONSUME(T.Question));
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeExpr);
    this.OPTION2(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.fieldValue);
    });
    this.OPTION3(() => this.CONSUME(T.Comma));
  });

  private enumDecl = this.RULE("enumDecl", () => {
    this.CONSUME(T.Enum);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.OPTION(() => {
      this.CONSUME(T.Name, { LABEL: "member" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RCurly,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.CONSUME2(T.Name, { LABEL: "member" });
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RCurly);
  });

  private letDecl = this.RULE("letDecl", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeExpr);
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.fieldValue);
  });

  private typeDecl = this.RULE("typeDecl", () => {
    this.CONSUME(T.TypeKw);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.typeExpr);
  });

  private instanceDecl = this.RULE("instanceDecl", () => {
    this.CONSUME(T.Identifier, { LABEL: "kind" });
    this.CONSUME2(T.Identifier, { LABEL: "name" });
    this.SUBRULE(this.instanceBody);
  });

  private instanceBody = this.RULE("instanceBody", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.recordBody) },
      {
        ALT: () => {
          this.CONSUME(T.Equals);
          this.SUBRULE(this.fieldValue);
        },
      },
    ]);
  });

  // ---- types ----
  private typeExpr = this.RULE("typeExpr", () => {
    this.SUBRULE(this.typeTerm);
    this.MANY(() => {
      this.CONSUME(T.Pipe);
      this.SUBRULE2(this.typeTerm);
    });
  });

  private typeTerm = this.RULE("typeTerm", () => {
    this.SUBRULE(this.typeAtom);
    this.MANY(() => {
      this.CONSUME(T.Amp);
      this.SUBRULE(this.constraint);
    });
  });

  private typeAtom = this.RULE("typeAtom", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.SUBRULE(this.typeExpr);
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE2(this.typeExpr);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.SUBRULE3(this.typeExpr);
          });
          this.CONSUME(T.RParen);
        },
      },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.TooDeep) },
    ]);
  });

  private constraint = this.RULE("constraint", () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.GtEq) },
            { ALT: () => this.CONSUME(T.LtEq) },
            { ALT: () => this.CONSUME(T.Gt) },
            { ALT: () => this.CONSUME(T.Lt) },
            { ALT: () => this.CONSUME(T.NotEq) },
          ]);
          this.OPTION(() => this.CONSUME(T.Minus));
          this.OR3([{ ALT: () => this.CONSUME(T.IntLit) }, { ALT: () => this.CONSUME(T.FloatLit) }]);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Match);
          this.OR4([{ ALT: () => this.CONSUME(T.StringLit) }, { ALT: () => this.CONSUME(T.RegexLit) }]);
        },
      },
    ]);
  });

  // ---- values ----

  /** A field's value; `256 per step, 22 per micro-batch` continues across the comma. Public: `parseValue` starts here. */
  public fieldValue = this.RULE("fieldValue", () => {
    this.SUBRULE(this.expr);
    this.MANY({
      GATE: () => this.LA(1).tokenType === T.Comma && NUMBER.has(this.LA(2).tokenType) && this.LA(3).tokenType === T.Per,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      },
    });
  });

  private recordBody = this.RULE("recordBody", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.SUBRULE(this.recordField);
      this.OPTION(() => this.CONSUME(T.Comma));
    });
    this.CONSUME(T.RCurly);
  });

  private recordField = this.RULE("recordField", () => {
    this.CONSUME(T.Name, { LABEL: "name" });
    this.OR([{ ALT: () => this.CONSUME(T.Colon) }, { ALT: () => this.CONSUME(T.Equals) }]);
    this.SUBRULE(this.fieldValue);
  });

  private expr = this.RULE("expr", () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.multiplicative);
    });
  });

  private multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }]);
      this.SUBRULE2(this.unary);
    });
  });

  private unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  private postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.CONSUME(T.Name, { LABEL: "member" });
          },
        },
        { ALT: () => this.SUBRULE(this.recordBody) },
        { ALT: () => this.SUBRULE(this.callArgs) },
        { ALT: () => this.CONSUME(T.TooDeep) },
      ]);
    });
  });

  private callArgs = this.RULE("callArgs", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.callArg);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RParen,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.callArg);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  private callArg = this.RULE("callArg", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Colon,
      DEF: () => {
        this.CONSUME(T.Name, { LABEL: "name" });
        this.CONSUME(T.Colon);
      },
    });
    this.SUBRULE(this.expr);
  });

  private primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.numberLit) },
      { ALT: () => this.CONSUME(T.Percent) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.UnterminatedString) },
      { ALT: () => this.CONSUME(T.RegexLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.None) },
      { ALT: () => this.SUBRULE(this.listLit) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.recordBody) },
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.TooDeep) },
    ]);
  });

  private numberLit = this.RULE("numberLit", () => {
    this.OR([{ ALT: () => this.CONSUME(T.IntLit) }, { ALT: () => this.CONSUME(T.FloatLit) }]);
    this.OPTION(() => {
      this.CONSUME(T.Per);
      this.SUBRULE(this.unit, { LABEL: "perUnit" });
    });
    this.OPTION2({
      // A unit word only counts on the number's own line and when it does not start the next field.
      GATE: () => {
        const next = this.LA(1),
          after = this.LA(2),
          number = this.LA(0);
        return next.startLine === number.endLine && after.tokenType !== T.Colon && after.tokenType !== T.Equals;
      },
      DEF: () => this.SUBRULE2(this.unit),
    });
  });

  private unit = this.RULE("unit", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.MicroBatch) }]);
  });

  private listLit = this.RULE("listLit", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expr);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  private parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expr);
    this.MANY({
      GATE: () => this.LA(2).tokenType !== T.RParen,
      DEF: () => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      },
    });
    this.OPTION(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    this.CONSUME(T.RParen);
  });
}

let shared: LlavaParser | undefined;

/** One parser instance for the process: building it costs the grammar analysis. */
export function sharedParser(): LlavaParser {
  shared ??= new LlavaParser();
  return shared;
}

export type { CstNode };
