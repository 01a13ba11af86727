"""The clear-error contract for malformed conversations and template refusals.

Every malformed conversation given to ``lossmask mask`` exits 2 with ONE line on stderr that names the file and
the JSON path, and the API raises the typed error (:class:`ConversationError` from the reference, ``CaseError``
from the file reader). Every template refusal is a :class:`TemplateRefusal` from the API and one line naming the
file and the template from the CLI. Asset problems and the sandbox have their own files
(``test_error_contract_assets.py``, ``test_template_sandbox.py``).
"""

from __future__ import annotations

import json
import re

import pytest

from lossmask import assets
from lossmask.cli import main
from lossmask.errors import CaseError
from lossmask.inputs import read_conversation
from lossmask.reference import ConversationError, SegmentationError, TemplateRefusal, segment

U = {"role": "user", "content": "Hi."}
A = {"role": "assistant", "content": "Hello."}


def call(arguments, name="lookup", call_id="call00001"):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


TOOL = {"type": "function", "function": {"name": "lookup", "description": "Look up a value.", "parameters": {"type": "object", "properties": {}}}}

#: (name, file content, JSON path the message must name). The content is what a user's file holds.
MALFORMED = [
    ("missing_role", [{"content": "Hi."}], "$.messages[0].role"),
    ("role_not_string", [{"role": 3, "content": "Hi."}], "$.messages[0].role"),
    ("unknown_role", [U, {"role": "wizard", "content": "x"}], "$.messages[1].role"),
    ("content_int", [{"role": "user", "content": 5}], "$.messages[0].content"),
    ("content_object", [U, {"role": "assistant", "content": {"text": "x"}}], "$.messages[1].content"),
    ("content_part_without_text", [{"role": "user", "content": [{"type": "text"}]}], "$.messages[0].content[0].text"),
    ("content_part_not_object", [{"role": "user", "content": ["Hi."]}], "$.messages[0].content[0]"),
    ("reasoning_not_string", [U, {"role": "assistant", "content": "x", "reasoning_content": ["r"]}],
     "$.messages[1].reasoning_content"),
    ("arguments_not_json", [U, {"role": "assistant", "content": "", "tool_calls": [call('{"city": ')]}],
     "$.messages[1].tool_calls[0].function.arguments"),
    ("arguments_list", [U, U, {"role": "assistant", "content": "", "tool_calls": [call([1, 2])]}],
     "$.messages[2].tool_calls[0].function.arguments"),
    ("call_without_name", [U, {"role": "assistant", "content": "", "tool_calls": [call({}, name="")]}],
     "$.messages[1].tool_calls[0].function.name"),
    ("call_not_object", [U, {"role": "assistant", "content": "", "tool_calls": ["lookup()"]}],
     "$.messages[1].tool_calls[0]"),
    ("tool_calls_not_list", [U, {"role": "assistant", "content": "", "tool_calls": call({})}],
     "$.messages[1].tool_calls"),
    ("tool_calls_on_user", [{"role": "user", "content": "x", "tool_calls": [call({})]}], "$.messages[0].tool_calls"),
    ("weight_not_number", [U, {**A, "step_loss_mask": "yes"}], "$.messages[1].step_loss_mask"),
    ("message_not_object", [U, "Hello."], "$.messages[1]"),
    ("empty_conversation", [], "$.messages"),
    ("messages_not_list", {"messages": {"role": "user"}}, "$.messages"),
    ("object_without_messages", {"conversation": [U, A]}, "$.messages"),
    ("top_level_string", "Hi.", "$"),
    ("tools_not_list", {"messages": [U, A], "tools": TOOL}, "$.tools"),
    ("tool_not_object", {"messages": [U, A], "tools": ["lookup"]}, "$.tools[0]"),
    ("tool_without_name", {"messages": [U, A], "tools": [{"type": "function", "function": {"description": "d"}}]},
     "$.tools[0].function.name"),
    ("tool_function_string", {"messages": [U, A], "tools": [{"type": "function", "function": "lookup"}]},
     "$.tools[0].function.name"),
]


def run_mask(capsys, path, *extra: str) -> tuple[int, str]:
    code = main(["mask", "--family", "qwen3", "--messages", str(path), "--json", *extra])
    return code, capsys.readouterr().err


def assert_one_line(err: str, *needles: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got {err!r}"
    assert err.startswith("lossmask mask: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


@pytest.mark.parametrize("name,content,json_path", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_conversation_is_one_line_naming_file_and_json_path(tmp_path, capsys, name, content, json_path):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(content))
    code, err = run_mask(capsys, path)
    assert code == 2
    assert_one_line(err, f"{path}: {json_path}:")
    with pytest.raises(CaseError) as info:
        read_conversation(path)
    assert str(info.value).startswith(f"{path}: {json_path}:")


@pytest.mark.parametrize("name,content,json_path", [m for m in MALFORMED if isinstance(m[1], list) and m[1]],
                         ids=[m[0] for m in MALFORMED if isinstance(m[1], list) and m[1]])
def test_api_raises_conversation_error_with_the_json_path(name, content, json_path):
    loaded = assets.load_bundled("qwen3")
    with pytest.raises(ConversationError) as info:
        segment(loaded.tokenizer, loaded.chat_template, content)
    assert str(info.value).startswith(f"{json_path}:") and "\n" not in str(info.value)


@pytest.mark.parametrize("raw,needle", [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ("", "not valid JSON (Expecting value at line 1 column 1)"),
    ('[{"role": "user", "content": "x"}]\n]', "not valid JSON (Extra data at line 2 column 1)"),
])
def test_file_that_is_not_json_names_the_file_and_position(tmp_path, capsys, raw, needle):
    path = tmp_path / "chat.json"
    path.write_text(raw)
    code, err = run_mask(capsys, path)
    assert code == 2
    assert_one_line(err, f"{path}: {needle}")


def test_file_not_utf8_and_missing_file(tmp_path, capsys):
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"role": "user", "content": "caf\xe9"}]'.encode("latin-1"))
    code, err = run_mask(capsys, path)
    assert code == 2
    assert_one_line(err, f"{path}: not UTF-8")
    code, err = run_mask(capsys, tmp_path / "absent.json")
    assert code == 2
    assert_one_line(err, f"{tmp_path / 'absent.json'}: no such messages file")


def test_tools_file_of_the_wrong_shape_names_the_tools_file(tmp_path, capsys):
    chat, tools = tmp_path / "chat.json", tmp_path / "tools.json"
    chat.write_text(json.dumps([U, A]))
    tools.write_text(json.dumps({"tools": [{"type": "function", "function": {"name": 7}}]}))
    code, err = run_mask(capsys, chat, "--tools", str(tools))
    assert code == 2
    assert_one_line(err, f"{tools}: $.tools[0].function.name:")


S = {"role": "system", "content": "Be brief."}
CALL_TURN = {"role": "assistant", "content": "", "tool_calls": [call({"q": "x"})]}
RESULT = {"role": "tool", "tool_call_id": "call00001", "content": "42"}
#: (family, variant, conversation, the refusal's message): found by running every bundled template on these
#: shapes; each is checked against ``apply_chat_template`` itself below, so the list cannot claim a refusal
#: the template does not make.
REFUSALS = [
    ("qwen3_5", "default", [S, A], "No user query found in messages."),
    ("qwen3_5", "Qwen3.6-35B-A3B", [U, S, A], "System message must be at the beginning."),
    ("qwen3_5", "default", [{"role": "developer", "content": "d"}, U, A], "Unexpected message role."),
    ("qwen3_5", "default", [U, {**CALL_TURN, "tool_calls": [call('{"q": "x"}')]}, RESULT, A],
     "Can only get item pairs from a mapping."),
    ("qwen3", "Qwen3-Coder", [U, {**CALL_TURN, "tool_calls": [call('{"q": "x"}')]}, RESULT, A],
     "Can only get item pairs from a mapping."),
    ("deepseek_v4", "default", [U, {**CALL_TURN, "tool_calls": [call('{"q": "x"}')]}, RESULT, A],
     "No filter named 'from_json' found."),
    ("mistral_nemo", "default", [U, U, A], "conversation roles must alternate user/assistant/user/assistant"),
    ("gpt_oss", "default", [U, RESULT, A],
     "Message has tool role, but there was no previous assistant message with a tool call!"),
    ("llama3", "default", [U, {**CALL_TURN, "tool_calls": [call({"q": "x"}), call({"q": "y"}, call_id="call00002")]},
                           RESULT, A], "This model only supports single tool-calls at once!"),
]


@pytest.mark.parametrize("family,variant,messages,message", REFUSALS,
                         ids=[f"{r[0]}-{r[3][:30]}" for r in REFUSALS])
def test_template_refusal_is_typed_and_one_line(tmp_path, capsys, family, variant, messages, message):
    loaded = assets.load_bundled(family, variant)
    with pytest.raises(Exception) as raised:  # the template itself refuses: the reference must not invent this
        loaded.tokenizer.apply_chat_template(messages, tools=[TOOL], tokenize=False, chat_template=loaded.chat_template)
    assert message in str(raised.value)
    with pytest.raises(TemplateRefusal) as info:
        segment(loaded.tokenizer, loaded.chat_template, messages, [TOOL])
    assert message in str(info.value) and "\n" not in str(info.value)

    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"messages": messages, "tools": [TOOL]}))
    code = main(["mask", "--family", family, "--variant", variant, "--messages", str(path)])
    assert code == 2
    assert_one_line(capsys.readouterr().err, f"{path} ({loaded.label}): ", message)


@pytest.mark.parametrize(("messages", "tools", "json_path"), [
    ([{"role": "user", "content": "see \U000f0003 here"}, A], None, "$.messages[0].content"),
    ([U, {"role": "assistant", "content": "ok", "reasoning_content": "r\U000ffffd"}], None,
     "$.messages[1].reasoning_content"),
    ([U, A], [{**TOOL, "function": {**TOOL["function"], "description": "x\U000f0000"}}],
     "$.tools[0].function.description"),
])
def test_data_holding_marker_code_points_is_refused_with_its_path(messages, tools, json_path):
    """The reference marks fields with U+F0000..U+FFFFD; data that already holds one would corrupt the spans.

    One search of the real render finds it (tools included, which are never marked), then the path is named.
    """
    loaded = assets.load_bundled("qwen3")
    with pytest.raises(SegmentationError, match=re.escape(json_path) + ": contains private-use code points"):
        segment(loaded.tokenizer, loaded.chat_template, messages, tools)
