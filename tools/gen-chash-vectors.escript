#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% Prints reference vectors for shared/chash.ts, computed by Erlang/OTP itself:
%% term_to_binary({Bucket, Key}), crypto:hash(sha, ...) (riak_core_util:chash_key/1)
%% and the successor partition (chash:next_index/2) for ring sizes 8, 64 and 1024.
%%
%% Regenerate with (from the repo root):
%%   escript tools/gen-chash-vectors.escript > shared/test/fixtures/chash-vectors.json
%%
%% The JSON is pure ASCII: non-ASCII characters are written as \uXXXX escapes
%% (surrogate pairs above U+FFFF), so JSON.parse gives back the exact strings.

-define(COMMAND, "escript tools/gen-chash-vectors.escript > shared/test/fixtures/chash-vectors.json").

main(_) ->
    Vectors = [vector(B, K) || {B, K} <- pairs()],
    io:put_chars([
        "{\n",
        "  \"generated_by\": ", json_string(?COMMAND), ",\n",
        "  \"otp_release\": ", json_string(erlang:system_info(otp_release)), ",\n",
        "  \"vectors\": [\n",
        lists:join(",\n", ["    " ++ V || V <- Vectors]),
        "\n  ]\n}\n"
    ]).

%% Bucket/key pairs as Erlang strings (lists of code points); converted to UTF-8 below.
pairs() ->
    [
        {"ping", "a"},
        {"kv", "key1"},
        {"room", "lobby"},
        {"users", "alice"},
        {"bucket", "key"},
        {"bucket", ""},
        {"", "key"},
        {"", ""},
        {"kv", lists:duplicate(255, $k)},
        {"kv", lists:duplicate(256, $k)},
        {"long", [$a + (I rem 26) || I <- lists:seq(0, 299)]},
        {"unicode", "h\x{e9}llo"},
        {"unicode", "\x{1F600}"},
        {"\x{65E5}\x{672C}", "\x{5BFF}\x{53F8}"},
        {"escapes", "quote\" back\\slash tab\t nl\n nul\0"}
    ].

vector(Bucket0, Key0) ->
    Bucket = unicode:characters_to_binary(Bucket0),
    Key = unicode:characters_to_binary(Key0),
    Term = term_to_binary({Bucket, Key}),
    Sha = crypto:hash(sha, Term),
    <<HashInt:160/unsigned-big>> = Sha,
    lists:flatten([
        "{\"bucket\": ", json_string(Bucket0),
        ", \"key\": ", json_string(Key0),
        ", \"term_hex\": ", json_string(hex(Term)),
        ", \"sha1_hex\": ", json_string(hex(Sha)),
        ", \"partition_8\": ", integer_to_list(partition(HashInt, 8)),
        ", \"partition_64\": ", integer_to_list(partition(HashInt, 64)),
        ", \"partition_1024\": ", integer_to_list(partition(HashInt, 1024)),
        "}"
    ]).

%% chash:next_index/2, as a partition number rather than an index.
partition(HashInt, Q) ->
    Inc = (1 bsl 160) div Q,
    ((HashInt div Inc) + 1) rem Q.

hex(Bin) ->
    lists:flatten([io_lib:format("~2.16.0b", [Byte]) || <<Byte>> <= Bin]).

%% Input is a list of Unicode code points.
json_string(Chars) ->
    [$", [json_char(C) || C <- Chars], $"].

json_char($") -> "\\\"";
json_char($\\) -> "\\\\";
json_char(C) when C >= 16#20, C < 16#7F -> C;
json_char(C) when C > 16#FFFF ->
    V = C - 16#10000,
    [u_escape(16#D800 bor (V bsr 10)), u_escape(16#DC00 bor (V band 16#3FF))];
json_char(C) -> u_escape(C).

u_escape(C) -> io_lib:format("\\u~4.16.0b", [C]).
