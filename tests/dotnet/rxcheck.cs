// rxcheck: run LogRhythm MPE rules with the .NET regex engine
// (System.Text.RegularExpressions; under mono the .NET Framework's
// engine), as the MPE runs them: case-insensitive, single-line, tried in
// file-name order.  Its output is mpe/check-rules' (PCRE2), line for
// line, so one expected table serves both engines.
//
//	rxcheck [-T ms] RULEDIR [FILE ...]
//		per line: N<TAB>first=RULE<TAB>all=RULE,...<TAB>login=..<TAB>
//		sip=..<TAB>result=..<TAB>action=..; "-" for a group the first
//		rule lacks.  A match that takes longer than ms (default 2000)
//		prints "timeout=RULE" in the all list and exits 3.
//	rxcheck -c RULE.re ...
//		compile only; prints "RULE: ok" or "RULE: error: ..." and
//		exits 1 if one fails.
// Exit 2 on usage errors or a rule that does not compile (first form).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

class RxCheck
{
	static readonly string[] Tags = { "login", "sip", "result", "action" };

	static Regex Compile(string path, TimeSpan limit)
	{
		string rx = File.ReadAllText(path, new UTF8Encoding(false));
		if (rx.EndsWith("\n"))
			rx = rx.Substring(0, rx.Length - 1);
		if (rx.Contains("\n"))
			throw new ArgumentException("more than one line");
		return new Regex(rx, RegexOptions.IgnoreCase, limit);
	}

	static int Main(string[] args)
	{
		var stdout = new StreamWriter(Console.OpenStandardOutput(),
		    new UTF8Encoding(false));
		stdout.NewLine = "\n";
		int a = 0, ms = 2000;
		if (args.Length > 0 && args[0] == "-c") {
			int bad = 0;
			for (a = 1; a < args.Length; a++) {
				string n = Path.GetFileName(args[a]);
				try {
					Compile(args[a], TimeSpan.FromSeconds(1));
					stdout.WriteLine(n + ": ok");
				} catch (ArgumentException e) {
					stdout.WriteLine(n + ": error: " +
					    e.Message.Replace("\n", " "));
					bad = 1;
				}
			}
			stdout.Flush();
			return bad;
		}
		if (args.Length > 1 && args[0] == "-T") {
			ms = int.Parse(args[1]);
			a = 2;
		}
		if (args.Length <= a) {
			Console.Error.WriteLine("usage: rxcheck [-T ms] RULEDIR [FILE ...]");
			return 2;
		}
		string dir = args[a++];
		var names = Directory.GetFiles(dir, "*.re")
		    .Select(p => Path.GetFileName(p))
		    .OrderBy(n => n, StringComparer.Ordinal).ToList();
		var rules = new List<Regex>();
		foreach (string n in names) {
			try {
				rules.Add(Compile(Path.Combine(dir, n),
				    TimeSpan.FromMilliseconds(ms)));
			} catch (ArgumentException e) {
				Console.Error.WriteLine("rxcheck: " + n + ": " +
				    e.Message);
				return 2;
			}
		}
		var data = new MemoryStream();
		if (a == args.Length)
			Console.OpenStandardInput().CopyTo(data);
		for (; a < args.Length; a++)
			using (var f = File.OpenRead(args[a]))
				f.CopyTo(data);
		string text = new UTF8Encoding(false).GetString(data.ToArray());
		var lines = text.Split('\n').ToList();
		if (lines.Count > 0 && lines[lines.Count - 1] == "")
			lines.RemoveAt(lines.Count - 1);
		int rc = 0;
		for (int i = 0; i < lines.Count; i++) {
			var all = new List<string>();
			Match first = null;
			Regex firstrx = null;
			for (int r = 0; r < rules.Count; r++) {
				Match m;
				try {
					m = rules[r].Match(lines[i]);
				} catch (RegexMatchTimeoutException) {
					all.Add("timeout=" + names[r]);
					rc = 3;
					continue;
				}
				if (!m.Success)
					continue;
				all.Add(names[r]);
				if (first == null) {
					first = m;
					firstrx = rules[r];
				}
			}
			var sb = new StringBuilder();
			sb.Append(i + 1).Append("\tfirst=")
			    .Append(first != null ? all[0] : "none")
			    .Append("\tall=")
			    .Append(all.Count > 0 ? string.Join(",", all) : "none");
			foreach (string t in Tags) {
				sb.Append('\t').Append(t).Append('=');
				if (first == null ||
				    firstrx.GroupNumberFromName(t) < 0)
					sb.Append('-');
				else
					sb.Append(first.Groups[t].Value);
			}
			stdout.WriteLine(sb.ToString());
		}
		stdout.Flush();
		return rc;
	}
}
