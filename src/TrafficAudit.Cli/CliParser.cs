using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace TrafficAudit.Cli;

/// <summary>What the parser found: a command to run, help to show, or a directive (completion) System.CommandLine answers itself.</summary>
/// <param name="Result">System.CommandLine's parse, or null when the command line was simple enough to read without it (<see cref="CliParser.TryParseSimple"/>).</param>
public sealed record ParsedCommandLine(CommandSpec? Command, Arguments Arguments, bool HelpRequested, ParseResult? Result);

/// <summary>
/// The command line through System.CommandLine, built from <see cref="CommandSpecs"/>. Its parse
/// errors are turned into our own one-sentence messages (<see cref="UsageException"/>) with a hint
/// when the user's word is close to a known one ("did you mean --profile?") or belongs to another
/// command ("--duration is an option of 'live'"). Values are checked by the commands themselves.
/// </summary>
public static class CliParser
{
    private static readonly Lazy<(RootCommand Root, Dictionary<Option, OptionSpec> Options, Dictionary<Command, CommandSpec> Commands, Dictionary<Command, Argument<string[]>> Arguments)> Tree = new(Build);

    /// <summary>The System.CommandLine tree, for help and completion.</summary>
    public static RootCommand Root => Tree.Value.Root;

    private static (RootCommand, Dictionary<Option, OptionSpec>, Dictionary<Command, CommandSpec>, Dictionary<Command, Argument<string[]>>) Build()
    {
        var root = new RootCommand("trafficaudit - audit packet captures of Imagicle UC Suite sites against the vendor's port table");
        var options = new Dictionary<Option, OptionSpec>();
        var commands = new Dictionary<Command, CommandSpec>();
        var arguments = new Dictionary<Command, Argument<string[]>>();
        foreach (var spec in CommandSpecs.All)
        {
            var command = new Command(spec.Name, spec.Summary);
            foreach (var alias in spec.Aliases) command.Aliases.Add(alias);
            foreach (var o in spec.Options)
            {
                Option option = o.IsFlag
                    ? new Option<bool>(o.Name, o.Aliases) { Description = o.Description, Arity = ArgumentArity.Zero, Hidden = o.Hidden }
                    : new Option<string[]>(o.Name, o.Aliases)
                    {
                        Description = o.Description,
                        HelpName = o.ValueName,
                        Arity = ArgumentArity.OneOrMore,
                        AllowMultipleArgumentsPerToken = false,
                        Hidden = o.Hidden,
                    };
                command.Options.Add(option);
                options[option] = o;
            }
            if (spec.ArgumentName is not null)
            {
                var argument = new Argument<string[]>(spec.ArgumentName) { Description = spec.ArgumentDescription, Arity = ArgumentArity.ZeroOrMore };
                command.Arguments.Add(argument);
                arguments[command] = argument;
            }
            root.Subcommands.Add(command);
            commands[command] = spec;
        }
        return (root, options, commands, arguments);
    }

    /// <summary>Parses <paramref name="args"/>; every mistake in the words themselves is a <see cref="UsageException"/>.</summary>
    public static ParsedCommandLine Parse(IReadOnlyList<string> args) =>
        TryParseSimple(args, out var simple) ? simple : ParseWithSystemCommandLine(args);

    /// <summary><see cref="Parse"/> through System.CommandLine always (tests compare it with <see cref="TryParseSimple"/>).</summary>
    internal static ParsedCommandLine ParseWithSystemCommandLine(IReadOnlyList<string> args)
    {
        var (root, options, commands, arguments) = Tree.Value;
        // No response files: a capture may well be named '@something.pcap'.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var commandResult = result.CommandResult;
        commands.TryGetValue(commandResult.Command, out var spec);

        bool help = commandResult.Children.OfType<OptionResult>().Any(r => r.Option is HelpOption)
            || result.RootCommandResult.Children.OfType<OptionResult>().Any(r => r.Option is HelpOption);
        if (help) return new ParsedCommandLine(spec, new Arguments(), true, result);

        if (spec is not null)
        {
            // "--report=yes": System.CommandLine would pass "yes" on as a file name.
            foreach (var arg in args.TakeWhile(x => x != "--"))
            {
                int eq = arg.IndexOf('=');
                if (arg.StartsWith("--") && eq > 2 && spec.Options.FirstOrDefault(o => o.AllNames.Contains(arg[..eq])) is { IsFlag: true } flag)
                    throw new UsageException($"option {flag.Name} takes no value");
            }
        }
        if (result.Errors.Count > 0) throw new UsageException(Explain(result, spec, args));
        if (spec is not null && arguments.TryGetValue(commandResult.Command, out var positional) && result.GetResult(positional) is { } given)
        {
            // A word that looks like an option but matched none became a file name: before '--' it is a mistake.
            int doubleDash = -1;
            for (int i = 0; i < result.Tokens.Count; i++)
                if (result.Tokens[i].Type == TokenType.DoubleDash) { doubleDash = i; break; }
            foreach (var t in given.Tokens)
            {
                if (!t.Value.StartsWith('-') || t.Value == "-") continue;
                int at = -1;
                for (int i = 0; i < result.Tokens.Count; i++)
                    if (ReferenceEquals(result.Tokens[i], t)) { at = i; break; }
                if (doubleDash < 0 || at < doubleDash) throw new UsageException(ExplainWord(t.Value, spec));
            }
        }

        var a = new Arguments();
        if (spec is not null)
        {
            foreach (var r in commandResult.Children.OfType<OptionResult>())
            {
                if (!options.TryGetValue(r.Option, out var o) || r.Implicit) continue;
                if (o.IsFlag) a.SetFlag(o.Name);
                else foreach (var t in r.Tokens)
                {
                    // System.CommandLine lets "--out --report" give --out the value "--report"; a
                    // value that is one of the command's options was forgotten, unless typed "--out=--report".
                    string typed = r.IdentifierToken?.Value ?? o.Name;
                    if (IsOptionWord(spec, t.Value) && !args.Contains($"{typed}={t.Value}"))
                        throw new UsageException($"option {typed} needs a value ({o.ValueName}) before {t.Value}");
                    a.AddValue(o.Name, t.Value);
                }
            }
            if (arguments.TryGetValue(commandResult.Command, out var argument))
                foreach (var value in result.GetValue(argument) ?? []) a.Positional.Add(value);
        }
        return new ParsedCommandLine(spec, a, false, result);
    }

    /// <summary>
    /// The usual command line, read without building System.CommandLine's tree (about a tenth of a short
    /// audit's start-up, issue 12): a command's name, then only its options by their exact names, each value
    /// option followed by a value, and file names. Anything else (help, '--', --opt=value, a word starting
    /// with '-' that is not one of the command's options, a value starting with '-', an empty word, a word
    /// that names a command, a file name for a command that takes none) returns false and goes to
    /// System.CommandLine, which explains the mistakes; a test checks that both read every simple line alike.
    /// </summary>
    internal static bool TryParseSimple(IReadOnlyList<string> args, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParsedCommandLine? parsed)
    {
        parsed = null;
        if (args.Count == 0) return false;
        CommandSpec? spec = null;
        foreach (var c in CommandSpecs.All)
            if (c.Name == args[0]) { spec = c; break; }
        if (spec is null) return false;
        var a = new Arguments();
        for (int i = 1; i < args.Count; i++)
        {
            string word = args[i];
            if (!IsPlainWord(word)) return false;
            if (word[0] == '-' && word != "-")
            {
                OptionSpec? option = null;
                foreach (var o in spec.Options)
                    if (o.Name == word || Array.IndexOf(o.Aliases, word) >= 0) { option = o; break; }
                if (option is null) return false;
                if (option.IsFlag)
                {
                    a.SetFlag(option.Name);
                    continue;
                }
                if (++i == args.Count || !IsPlainWord(args[i]) || args[i][0] == '-') return false;
                a.AddValue(option.Name, args[i]);
            }
            else
            {
                if (spec.ArgumentName is null) return false;
                a.Positional.Add(word);
            }
        }
        parsed = new ParsedCommandLine(spec, a, false, null);
        return true;
    }

    /// <summary>Not empty, no directive or response-file mark, no name=value, and not a command's name.</summary>
    private static bool IsPlainWord(string word)
    {
        if (word.Length == 0 || word[0] is '[' or '@' || word.Contains('=')) return false;
        if (word is "help" or "version" or "--" or "-h" or "-?" or "--help" or "--version") return false;
        foreach (var c in CommandSpecs.All)
            if (c.Name == word || Array.IndexOf(c.Aliases, word) >= 0) return false;
        return true;
    }

    private static bool IsOptionWord(CommandSpec spec, string word) =>
        word.StartsWith('-') && (word is "--help" or "-h" or "-?" || spec.Options.Any(o => o.AllNames.Contains(word)));

    /// <summary>Parses the arguments that follow a command's name (for tests and tools).</summary>
    public static Arguments ParseCommand(string command, IReadOnlyList<string> rest) => Parse([command, .. rest]).Arguments;

    /// <summary>One sentence for the first thing System.CommandLine could not match, with a hint.</summary>
    private static string Explain(ParseResult result, CommandSpec? spec, IReadOnlyList<string> args)
    {
        // A value option given without its value, or a flag given one.
        foreach (var e in result.Errors)
        {
            if (e.SymbolResult is OptionResult or && Tree.Value.Options.TryGetValue(or.Option, out var o))
                return o.IsFlag
                    ? $"option {o.Name} takes no value"
                    : $"option {or.IdentifierToken?.Value ?? o.Name} needs a value ({o.ValueName})";
        }
        string? word = result.UnmatchedTokens.FirstOrDefault();
        if (word is null) return result.Errors[0].Message.TrimEnd('.');
        if (spec is null)
        {
            if (word.StartsWith('-'))
            {
                var owners = CommandSpecs.All.Where(c => c.Options.Any(o => o.AllNames.Contains(word.Split('=')[0]))).Select(c => $"'{c.Name}'").ToList();
                if (owners.Count > 0) return $"{word} is an option of {string.Join(" and ", owners)}: name the command first, e.g. 'trafficaudit {owners[0].Trim('\'')} ... {word}'";
                return $"unknown option '{word}'" + Hint(word, ["--help", "-h", "--version"]);
            }
            return $"unknown command '{word}'" + Hint(word, CommandSpecs.All.SelectMany(c => new[] { c.Name }.Concat(c.Aliases)).Concat(["help", "version"]));
        }
        return ExplainWord(word, spec);
    }

    private static string ExplainWord(string word, CommandSpec spec)
    {
        if (word.StartsWith('-') && word != "-")
        {
            string name = word.Split('=')[0];
            var owners = CommandSpecs.All.Where(c => c != spec && c.Options.Any(o => o.AllNames.Contains(name))).Select(c => $"'{c.Name}'").ToList();
            if (owners.Count > 0)
                return $"{name} is an option of {string.Join(" and ", owners)}, not of '{spec.Name}'";
            string hint = Hint(name, spec.Options.Where(o => !o.Hidden).SelectMany(o => o.AllNames).Concat(["--help"]));
            if (hint.Length == 0 && spec.ArgumentName is not null) hint = "; a file whose name starts with '-' goes after '--'";
            return $"unknown option '{word}' for '{spec.Name}'" + hint;
        }
        return $"unexpected argument '{word}'" + (spec.Name == "live" ? " (live reads an interface: -i IFACE)" : "");
    }

    /// <summary>"; did you mean X?" when a known word is within a small edit distance, else "".</summary>
    internal static string Hint(string word, IEnumerable<string> known)
    {
        string w = word.TrimStart('-');
        var best = known
            .Select(k => (k, d: EditDistance(w, k.TrimStart('-'))))
            .Where(x => x.d <= (w.Length >= 5 ? 2 : 1))
            .OrderBy(x => x.d).ThenBy(x => x.k, StringComparer.Ordinal)
            .Select(x => x.k).FirstOrDefault();
        return best is null ? "" : $"; did you mean {best}?";
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1 ("audti" → "audit" is 1).</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>Help for one command: System.CommandLine's usage and option table, then examples and exit codes.</summary>
    public static void WriteHelp(CommandSpec spec, TextWriter o)
    {
        // System.CommandLine's own help action writes the description, usage and option table.
        var result = Root.Parse([spec.Name, "--help"]);
        if (result.Action is HelpAction help) help.MaxWidth = 100;
        result.Invoke(new InvocationConfiguration { Output = o, Error = o });
        if (spec.Notes.Length > 0) o.WriteLine(spec.Notes);
        o.WriteLine("Examples:");
        foreach (var e in spec.Examples) o.WriteLine("  " + e);
        o.WriteLine();
        // The audit's exit codes belong to the commands that audit; the others only fail on usage (2) or capture access (3).
        if (spec.Name is "audit" or "live") o.WriteLine(CommandLine.ExitCodesText);
        else o.WriteLine("Exit codes: 0 done, 2 usage error" + (spec.Name == "interfaces" ? ", 3 libpcap missing" : ", or a catalogue file that does not load"));
    }
}
