using TrafficAudit.Cli;

// The console's writers are opened when first written to (a --quiet audit never opens standard output).
return CommandLine.Run(args, new DeferredConsoleWriter(error: false), new DeferredConsoleWriter(error: true));
