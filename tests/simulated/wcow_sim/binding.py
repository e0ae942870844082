"""PowerShell's parameter binding, as a step's params meet the script's param() block.

bootstrap.ps1 splats each step's params (from ConvertFrom-Json: strings, numbers,
booleans, $null, arrays, PSCustomObjects) onto the shipped script.  Windows
PowerShell 5.1 then binds them; this module does the same against the param()
block read from the shipped script itself (tree-sitter AST), so the simulator
refuses what PowerShell refuses, with PowerShell's messages
(ParameterBinderStrings.resx), and hands the twin the converted values:
- names match case-insensitively, or by an unambiguous prefix; an advanced script
  (one with [Parameter()] or [CmdletBinding()]) also takes the common parameters and
  refuses any other name; a simple script would put unknown names in $args;
- a Mandatory parameter must be given; a Mandatory [string] refuses $null and ''
  unless [AllowEmptyString()]; a Mandatory [string[]] refuses $null and @();
- [bool]/[switch] take only booleans and numbers; [int] takes numbers, numeric
  strings and booleans; [string] takes anything (an array becomes its items joined
  by a space, an object `@{k=v}`); [string[]] makes an array of those strings;
- [ValidateSet()] compares case-insensitively after conversion;
- a parameter not given gets its default, or the type's ([string] '', [int] 0,
  [bool]/[switch] $false, [string[]] $null).
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import pathlib
import re
import typing as t

import tree_sitter
import tree_sitter_powershell

from .host import ScriptFailure

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
COMMON_PARAMETERS = {
    "verbose": "vb", "debug": "db", "erroraction": "ea", "warningaction": "wa", "informationaction": "infa",
    "errorvariable": "ev", "warningvariable": "wv", "informationvariable": "iv", "outvariable": "ov",
    "outbuffer": "ob", "pipelinevariable": "pv",
}
_TYPE_NAMES = {"string": "System.String", "int": "System.Int32", "bool": "System.Boolean",
               "switch": "System.Management.Automation.SwitchParameter", "string[]": "System.String[]"}
_NOT_GIVEN = object()


class BindingError(ScriptFailure):
    """PowerShell refused to bind the step's parameters (the script never ran)."""


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # string, int, bool, switch, string[] (lower case)
    mandatory: bool = False
    allow_empty_string: bool = False
    validate_set: tuple[str, ...] | None = None
    default: t.Any = _NOT_GIVEN


@dataclasses.dataclass(frozen=True)
class Signature:
    parameters: tuple[Parameter, ...]
    advanced: bool


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8") if node.text is not None else ""


def _literal(node: tree_sitter.Node, script: str) -> t.Any:
    """The value of a default expression: literals, $true/$false/$null and @(...) of literals."""
    text = _text(node).strip()
    if text.lower() in ("$true", "$false", "$null"):
        return {"$true": True, "$false": False, "$null": None}[text.lower()]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"' and "$" not in text and "`" not in text:
        return text[1:-1]
    match = re.fullmatch(r"@\((?P<items>.*)\)", text, re.S)
    if match:
        items = [i.strip() for i in match["items"].split(",") if i.strip()]
        return [_literal_text(item, script) for item in items]
    raise ValueError(f"{script}.ps1: the simulator cannot evaluate the default `{text}`")


def _literal_text(text: str, script: str) -> t.Any:
    tree = _PARSER.parse(text.encode())
    return _literal(tree.root_node, script)


@functools.lru_cache(maxsize=None)
def _signature_of(source: str, script: str) -> Signature:
    tree = _PARSER.parse(source.encode("utf-8"))
    blocks = [c for c in tree.root_node.named_children if c.type == "param_block"]
    if not blocks:
        return Signature((), advanced=False)
    block = blocks[0]
    advanced = any(_text(a).lower().startswith("[cmdletbinding") for a in _walk(block, "attribute"))
    parameters = []
    for node in _walk(block, "script_parameter"):
        name = _text(next(c for c in node.named_children if c.type == "variable")).lstrip("$")
        kind, mandatory, allow_empty, choices = "object", False, False, None
        for attribute in _walk(node, "attribute"):
            literal = next((c for c in attribute.named_children if c.type == "type_literal"), None)
            if literal is not None:
                kind = _text(literal).strip("[]").replace(" ", "").lower().removeprefix("system.")
                kind = {"boolean": "bool", "int32": "int", "string[": "string[]"}.get(kind, kind)
                if _text(literal).replace(" ", "").lower().endswith("[]]") and not kind.endswith("[]"):
                    kind += "[]"
                continue
            attr_name = _text(next(c for c in attribute.named_children if c.type == "attribute_name")).lower()
            arguments = list(_walk(attribute, "attribute_argument"))
            if attr_name == "parameter":
                advanced = True
                for argument in arguments:
                    parts = _text(argument).replace(" ", "").lower().split("=", 1)
                    if parts[0] == "mandatory" and (len(parts) == 1 or parts[1] in ("$true", "1")):
                        mandatory = True
            elif attr_name == "allowemptystring":
                allow_empty = True
            elif attr_name == "validateset":
                choices = tuple(_literal_text(_text(a), script) for a in arguments)
            elif attr_name == "cmdletbinding":
                advanced = True
        if kind not in _TYPE_NAMES:
            raise ValueError(f"{script}.ps1: the simulator does not bind [{kind}] parameters (${name})")
        default_node = next((c for c in node.named_children if c.type == "script_parameter_default"), None)
        default = _literal(default_node.named_children[0], script) if default_node is not None else _NOT_GIVEN
        parameters.append(Parameter(name, kind, mandatory, allow_empty, choices, default))
    return Signature(tuple(parameters), advanced)


def signature(script_path: pathlib.Path) -> Signature:
    """The param() block of a shipped script."""
    return _signature_of(script_path.read_text(encoding="utf-8"), script_path.stem)


def _walk(node: tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(reversed(current.named_children))
    return found


# -- conversions (LanguagePrimitives, as far as JSON values go) ---------------------
def _ps_type(value: t.Any) -> str:
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -2**31 <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Decimal"  # 5.1's ConvertFrom-Json (JavaScriptSerializer) reads 1.5 as a Decimal
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, list):
        return "System.Object[]"
    return "System.Management.Automation.PSCustomObject"


def as_string(value: t.Any) -> str:
    """[string]$value for what ConvertFrom-Json produces."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)).normalize(), "f")
    if isinstance(value, list):
        return " ".join(as_string(v) for v in value)
    if isinstance(value, dict):
        return "@{" + "; ".join(f"{k}={as_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def _transformation_error(name: str, detail: str) -> BindingError:
    return BindingError(f"Cannot process argument transformation on parameter '{name}'. {detail}")


def _to_bool(param: Parameter, value: t.Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    shown = "" if value is None else _ps_type(value)
    raise _transformation_error(param.name, f'Cannot convert value "{shown}" to type "{_TYPE_NAMES[param.type]}". '
                                "Boolean parameters accept only Boolean values and numbers, such as $True, $False, "
                                "1 or 0.")


def _to_int(param: Parameter, value: t.Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        number = int(decimal.Decimal(repr(value)).to_integral_value(decimal.ROUND_HALF_EVEN))
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = 0 if text == "" else int(text, 16) if re.fullmatch(r"[+-]?0x[0-9a-f]+", text, re.I) else int(text)
        except ValueError:
            raise _transformation_error(param.name, f'Cannot convert value "{value}" to type "System.Int32". '
                                        'Error: "Input string was not in a correct format."') from None
    else:
        raise _transformation_error(param.name, f'Cannot convert the "{as_string(value) if isinstance(value, dict) else _ps_type(value)}" '
                                    f'value of type "{_ps_type(value)}" to type "System.Int32".')
    if not -2**31 <= number < 2**31:
        raise _transformation_error(param.name, f'Cannot convert value "{as_string(value)}" to type "System.Int32". '
                                    'Error: "Value was either too large or too small for an Int32."')
    return number


def convert(param: Parameter, value: t.Any) -> t.Any:
    """The value the script sees for `value` bound to `param`, or BindingError."""
    if param.type in ("bool", "switch"):
        converted: t.Any = _to_bool(param, value)
    elif param.type == "int":
        converted = _to_int(param, value)
    elif param.type == "string":
        if param.mandatory and value is None:
            raise BindingError(f"Cannot bind argument to parameter '{param.name}' because it is null.")
        converted = as_string(value)
        if param.mandatory and converted == "" and not param.allow_empty_string:
            raise BindingError(f"Cannot bind argument to parameter '{param.name}' because it is an empty string.")
    else:  # string[]
        if value is None:
            if param.mandatory:
                raise BindingError(f"Cannot bind argument to parameter '{param.name}' because it is null.")
            return None
        converted = [as_string(v) for v in (value if isinstance(value, list) else [value])]
        if param.mandatory and not converted:
            raise BindingError(f"Cannot bind argument to parameter '{param.name}' because it is an empty array.")
        if param.mandatory and "" in converted and not param.allow_empty_string:
            raise BindingError(f"Cannot bind argument to parameter '{param.name}' because it is an empty string.")
    if param.validate_set is not None:
        items = converted if isinstance(converted, list) else [converted]
        allowed = {c.lower() for c in param.validate_set}
        for item in items:
            if str(item).lower() not in allowed:
                raise BindingError(
                    f"Cannot validate argument on parameter '{param.name}'. The argument \"{item}\" does not belong "
                    f"to the set \"{','.join(param.validate_set)}\" specified by the ValidateSet attribute. Supply an "
                    "argument that is in the set and then try the command again.")
    return converted


def _default(param: Parameter) -> t.Any:
    if param.default is not _NOT_GIVEN:
        return param.default
    return {"string": "", "int": 0, "bool": False, "switch": False, "string[]": None}[param.type]


def bind(sig: Signature, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Bind splatted `params` to `sig`; answer every parameter's value as the script sees it."""
    by_name = {p.name.lower(): p for p in sig.parameters}
    bound: dict[str, t.Any] = {}
    for given, value in params.items():
        lowered = given.lower()
        if lowered in by_name:
            matches = [by_name[lowered].name]
        else:
            candidates = [p.name for p in sig.parameters if p.name.lower().startswith(lowered)]
            if sig.advanced:
                common = [n for n, alias in COMMON_PARAMETERS.items() if n.startswith(lowered) or alias == lowered]
                candidates += common
            matches = candidates
        if not matches:
            if not sig.advanced:
                continue  # a simple script: PowerShell passes it on in $args
            raise BindingError(f"A parameter cannot be found that matches parameter name '{given}'.")
        if len(matches) > 1:
            names = "".join(f" -{m}" for m in matches)
            raise BindingError(f"Parameter cannot be processed because the parameter name '{given}' is ambiguous. "
                               f"Possible matches include:{names}.")
        name = matches[0]
        if name.lower() in COMMON_PARAMETERS:
            continue  # common parameters change preferences, not the script's variables
        param = by_name[name.lower()]
        if param.name in bound:
            raise BindingError(f"Cannot bind parameter because parameter '{param.name}' is specified more than once. "
                               "To provide multiple values to parameters that can accept multiple values, use the "
                               'array syntax. For example, "-parameter value1,value2,value3".')
        bound[param.name] = convert(param, value)
    missing = [p.name for p in sig.parameters if p.mandatory and p.name not in bound]
    if missing:
        raise BindingError("Cannot process command because of one or more missing mandatory parameters:"
                           + "".join(f" {m}" for m in missing) + ".")
    return {p.name: bound[p.name] if p.name in bound else _default(p) for p in sig.parameters}
