return TrafficAudit.Synth.SynthCli.Run(args, Console.Out, Console.Error);
