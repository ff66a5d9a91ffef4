using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentApi.Tests.Infrastructure;
using AgentApi.Tests.Tasks;

namespace AgentApi.Tests.Security;

/// <summary>
/// Sends malformed and hostile requests to every endpoint: each must get the stated 4xx and
/// change no stored state. The task submission rows of <see cref="BadInputTests"/> are sent as
/// well, after the rows here.
/// </summary>
[Trait("Category", "Reliability")]
public sealed partial class HostileRequestTests(HostileRequestFixture fixture) : IClassFixture<HostileRequestFixture>
{
    private const string Schedule = HostileRequestFixture.ScheduleId;
    private const string MissingId = "00000000-0000-0000-0000-000000000000";

    private static readonly string OversizedBody = "{\"input\":\"" + new string('a', 1_100_000) + "\"}";

    [Fact]
    public async Task HostileRequests_Get4xxAndChangeNothing()
    {
        var rows = Rows(fixture.FinishedTaskId).Concat(BadInputRows()).ToList();
        var before = await fixture.TakeStableSnapshotAsync();
        var clients = new Dictionary<Caller, HttpClient>
        {
            [Caller.Admin] = fixture.Factory.CreateAuthenticatedClient(),
            [Caller.Reader] = fixture.Factory.CreateAuthenticatedClient(fixture.ReaderKey),
            [Caller.Submitter] = fixture.Factory.CreateAuthenticatedClient(fixture.SubmitterKey),
            [Caller.NoKey] = fixture.CreateAnonymousClient(),
            [Caller.UnknownKey] = fixture.Factory.CreateAuthenticatedClient("aak_" + new string('0', 43)),
        };

        var failures = new List<string>();
        try
        {
            foreach (var row in rows)
            {
                failures.AddRange(await SendAsync(clients[row.Caller], row));
                var after = await fixture.TakeSnapshotAsync();
                if (after != before)
                {
                    failures.Add($"{row}: changed stored state\n{Difference(before, after)}");
                    before = after;
                }
            }
        }
        finally
        {
            foreach (var client in clients.Values)
            {
                client.Dispose();
            }
        }

        Assert.True(rows.Count >= 120, $"The table has {rows.Count} rows.");
        Assert.True(failures.Count == 0, $"{failures.Count} of {rows.Count} rows failed:\n" + string.Join("\n\n", failures));
        Assert.Equal(before, await fixture.TakeStableSnapshotAsync());
    }

    private static IEnumerable<HostileRequest> BadInputRows() =>
        BadInputTests.Cases.Select(values => new HostileRequest((string)values[0]!, (string)values[1]!, (int)values[4]!)
        {
            ContentType = (string?)values[2] ?? "application/json",
            Body = (string?)values[3],
            Field = (string?)values[5],
        });

    private static IEnumerable<HostileRequest> Rows(Guid finishedTask)
    {
        // Keys and scopes: a missing or unknown key is 401, a key without the scope 403.
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.UnknownKey };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey, Headers = Header("Authorization", "Bearer not-a-key") };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey, Headers = Header("Authorization", "Basic YWRtaW46YWRtaW4=") };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey, Headers = Header("X-Api-Key", "") };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey, Headers = Header("X-Api-Key", new string('k', 10_000)) };
        yield return new("GET", "/api/tasks", 401) { Caller = Caller.NoKey, Headers = Header("X-Api-Key", "' or 1=1 --") };
        yield return new("POST", "/api/tasks", 401) { Caller = Caller.UnknownKey, Body = """{"input":"x"}""" };
        yield return new("POST", "/api/tasks", 403) { Caller = Caller.Reader, Body = """{"input":"x"}""" };
        yield return new("POST", $"/api/tasks/{finishedTask}/cancel", 403) { Caller = Caller.Reader };
        yield return new("GET", "/api/tasks", 403) { Caller = Caller.Submitter };
        yield return new("GET", $"/api/tasks/{finishedTask}", 403) { Caller = Caller.Submitter };
        yield return new("GET", $"/api/tasks/{finishedTask}/events", 403) { Caller = Caller.Submitter };
        yield return new("PUT", "/api/lanes/main", 403) { Caller = Caller.Submitter, Body = """{"maxConcurrent":9}""" };
        yield return new("PUT", "/api/lanes/main", 403) { Caller = Caller.Reader, Body = """{"maxConcurrent":9}""" };
        yield return new("PUT", "/api/lanes/main", 401) { Caller = Caller.NoKey, Body = """{"maxConcurrent":9}""" };
        yield return new("POST", "/api/keys", 403) { Caller = Caller.Submitter, Body = """{"name":"evil","scopes":["admin"]}""" };
        yield return new("POST", "/api/keys", 403) { Caller = Caller.Reader, Body = """{"name":"evil","scopes":["admin"]}""" };
        yield return new("GET", "/api/keys", 403) { Caller = Caller.Submitter };
        yield return new("DELETE", $"/api/keys/{HostileRequestFixture.ReaderKeyName}", 403) { Caller = Caller.Submitter };
        yield return new("DELETE", $"/api/keys/{HostileRequestFixture.SubmitterKeyName}", 403) { Caller = Caller.Reader };
        yield return new("PUT", "/api/heartbeat", 403) { Caller = Caller.Submitter, Body = """{"enabled":true,"every":"1s"}""" };
        yield return new("PUT", "/api/heartbeat", 403) { Caller = Caller.Reader, Body = """{"enabled":true,"every":"1s"}""" };
        yield return new("GET", "/api/heartbeat", 403) { Caller = Caller.Submitter };
        yield return new("POST", "/api/schedules", 403) { Caller = Caller.Submitter, Body = ValidSchedule("evil") };
        yield return new("PUT", $"/api/schedules/{Schedule}", 403) { Caller = Caller.Submitter, Body = ValidSchedule(Schedule) };
        yield return new("DELETE", $"/api/schedules/{Schedule}", 403) { Caller = Caller.Submitter };
        yield return new("DELETE", $"/api/schedules/{Schedule}", 403) { Caller = Caller.Reader };
        yield return new("POST", $"/api/schedules/{Schedule}/trigger", 403) { Caller = Caller.Reader };
        yield return new("POST", $"/api/schedules/{Schedule}/trigger", 401) { Caller = Caller.UnknownKey };
        yield return new("GET", $"/api/schedules/{Schedule}/runs", 403) { Caller = Caller.Submitter };
        yield return new("GET", "/api/agents", 403) { Caller = Caller.Submitter };
        yield return new("GET", "/api/agents/general-purpose", 401) { Caller = Caller.NoKey };
        yield return new("GET", "/api/sessions", 403) { Caller = Caller.Submitter };
        yield return new("GET", "/api/system/resources", 403) { Caller = Caller.Submitter };
        yield return new("GET", "/api/system/resources", 401) { Caller = Caller.UnknownKey };
        yield return new("GET", "/api/tasks?access_token=" + AgentApiFactory.AdminKey, 401) { Caller = Caller.NoKey };

        // Tasks: routes and queries the submission rows of BadInputTests do not cover.
        yield return new("POST", $"/api/tasks/{finishedTask}/cancel", 409);
        yield return new("POST", "/api/tasks/..%2F..%2Fetc%2Fpasswd/cancel", 404);
        yield return new("POST", "/api/tasks/%00/cancel", 400) { RejectedByServer = true };
        yield return new("GET", "/api/tasks/%00", 400) { RejectedByServer = true };
        yield return new("GET", "/api/tasks/%2Fetc%2Fpasswd", 404);
        yield return new("GET", "/api/tasks?limit=99999999999999999999", 400) { Field = "limit" };
        yield return new("GET", "/api/tasks?limit=-1", 400) { Field = "limit" };
        yield return new("GET", "/api/tasks?cursor=%00", 400) { Field = "cursor" };
        yield return new("GET", "/api/tasks?agent=" + new string('a', 2_000), 400) { Field = "agent" };
        yield return new("GET", "/api/tasks?agent=" + new string('a', 10_000), 414) { RejectedByServer = true };
        yield return new("GET", "/api/tasks?parentId=..%2F..%2F", 400) { Field = "parentId" };
        yield return new("GET", $"/api/tasks/{finishedTask}/events?after=99999999999999999999", 400) { Field = "after" };
        yield return new("GET", $"/api/tasks/{finishedTask}/events?after=%00", 400) { Field = "after" };
        yield return new("GET", $"/api/tasks/{finishedTask}/events?after=-1", 400)
        {
            Field = "after",
            Headers = Header("Accept", "text/event-stream"),
        };
        yield return new("DELETE", $"/api/tasks/{finishedTask}", 405);
        yield return new("PUT", "/api/tasks", 405) { Body = """{"input":"x"}""" };
        yield return new("POST", "/api/tasks", 415) { ContentType = "application/x-www-form-urlencoded", Body = "input=x" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","metadata":{"a":{"b":{"c":{"d":1}}}},"unknown":true}""", Field = "unknown" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","maxAttempts":99999999999999999999}""", Field = "maxAttempts" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","sessionKey":"../../etc/passwd\u0000"}""", Field = "sessionKey" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","lane":"../main"}""", Field = "lane" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","agent":"/etc/passwd"}""", Field = "agent" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","agent":"general-purpose\u0000"}""", Field = "agent" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","workspace":"/tmp"}""", Field = "workspace" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","workspace":"%2e%2e"}""", Field = "workspace" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","webhookUrl":"http://169.254.169.254/latest/meta-data"}""", Field = "webhookUrl" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x","webhookUrl":"file:///etc/passwd"}""", Field = "webhookUrl" };
        yield return new("POST", "/api/tasks", 400) { Body = "{\"input\":\"x\",\"name\":\"" + new string('n', 10_000) + "\"}", Field = "name" };
        yield return new("POST", "/api/tasks", 400) { Body = "{\"input\":\"x\",\"sessionKey\":\"" + new string('s', 10_000) + "\"}", Field = "sessionKey" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x"} trailing""", Field = "$" };
        yield return new("POST", "/api/tasks", 400) { Body = """{"input":"x",""", Field = "$" };
        yield return new("POST", "/api/tasks", 400) { Body = "\uFEFF\u0000{}", Field = "$" };

        // Lanes.
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":-1}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":10001}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":2147483648}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":1e308}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":"5"}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":null}""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = "{}", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = """{"maxConcurrent":3""", Field = "maxConcurrent" };
        yield return new("PUT", "/api/lanes/main", 400) { Body = "[3]", Field = "$" };
        yield return new("PUT", "/api/lanes/main", 415) { ContentType = "text/plain", Body = """{"maxConcurrent":3}""" };
        yield return new("PUT", "/api/lanes/main", 413) { Body = OversizedBody };
        yield return new("PUT", "/api/lanes/..%2Fmain", 404) { Body = """{"maxConcurrent":3}""" };
        yield return new("PUT", "/api/lanes/main%00", 400) { Body = """{"maxConcurrent":3}""", RejectedByServer = true };
        yield return new("PUT", "/api/lanes/%2Fetc%2Fpasswd", 404) { Body = """{"maxConcurrent":3}""" };
        yield return new("GET", "/api/lanes/%2e%2e%2f%2e%2e%2f", 404);
        yield return new("DELETE", "/api/lanes/main", 405);

        // Agents: names that try to leave the agent folder.
        yield return new("GET", "/api/agents/..%2F..%2Fetc%2Fpasswd", 404);
        yield return new("GET", "/api/agents/%2e%2e%2f%2e%2e%2fappsettings.json", 404);
        yield return new("GET", "/api/agents/%2Fetc%2Fpasswd", 404);
        yield return new("GET", "/api/agents/general-purpose%00.md", 400) { RejectedByServer = true };
        yield return new("GET", "/api/agents/general-purpose.md", 404);
        yield return new("GET", "/api/agents/" + new string('a', 5_000), 404);
        yield return new("POST", "/api/agents", 405) { Body = """{"name":"evil"}""" };

        // Sessions.
        yield return new("GET", "/api/sessions/..%2F..%2Fetc%2Fpasswd", 404);
        yield return new("GET", "/api/sessions/%2e%2e%2f%2e%2e%2f", 404);
        yield return new("GET", "/api/sessions/%00", 400) { RejectedByServer = true };
        yield return new("GET", "/api/sessions/agent%01main", 400) { Field = "key" };
        yield return new("GET", "/api/sessions/" + new string('s', 300), 400) { Field = "key" };
        yield return new("GET", "/api/sessions/agent:general-purpose:hostile?after=-1", 400) { Field = "after" };
        yield return new("GET", "/api/sessions/agent:general-purpose:hostile?limit=0", 400) { Field = "limit" };
        yield return new("GET", "/api/sessions?agent=%00", 400) { Field = "agent" };
        yield return new("GET", "/api/sessions?limit=99999999999", 400) { Field = "limit" };

        // Schedules: ids, cron expressions, time zones and task bodies.
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(id: "../../etc"), Field = "id" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(id: "a/b"), Field = "id" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(id: "x\\u0000"), Field = "id" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(id: new string('i', 65)), Field = "id" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "* * *"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "99 * * * *"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "@never"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "* * * * *\\u0000"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "@daily\\u0000\\u0007"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: "0 0 1 1 *\\n"), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(cron: string.Join(' ', Enumerable.Repeat("*", 2_000))), Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(timeZone: "Mars/Olympus_Mons"), Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(timeZone: "../../../../etc/localtime"), Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(timeZone: "/etc/localtime"), Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(timeZone: "UTC\\u0000"), Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = ScheduleBody(timeZone: ""), Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","task":{"input":"x"}}""", Field = "timeZone" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC"}""", Field = "task" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","task":{"input":""}}""", Field = "task.input" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","task":{"input":"x","agent":"../x"}}""", Field = "task.agent" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","task":"run"}""", Field = "task" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","task":{"input":"x","bogus":1}}""", Field = "task.bogus" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","at":"2000-01-01T00:00:00Z","task":{"input":"x"}}""", Field = "at" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","at":"tomorrow","task":{"input":"x"}}""", Field = "at" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","overlap":"maybe","task":{"input":"x"}}""", Field = "overlap" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","catchUp":"sometimes","task":{"input":"x"}}""", Field = "catchUp" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","enabled":"yes","task":{"input":"x"}}""", Field = "enabled" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","webhookUrl":"http://10.0.0.1/hook","task":{"input":"x"}}""", Field = "webhookUrl" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *","timeZone":"UTC","task":{"input":"x"},"owner":"root"}""", Field = "owner" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":5,"timeZone":"UTC","task":{"input":"x"}}""", Field = "cron" };
        yield return new("POST", "/api/schedules", 400) { Body = """{"id":"t","cron":"* * * * *",""", Field = "$" };
        yield return new("POST", "/api/schedules", 415) { ContentType = "text/plain", Body = ValidSchedule("t") };
        yield return new("POST", "/api/schedules", 413) { Body = OversizedBody };
        yield return new("POST", "/api/schedules", 409) { Body = ValidSchedule(Schedule) };
        yield return new("PUT", $"/api/schedules/{Schedule}", 400) { Body = ScheduleBody(id: Schedule, cron: "61 * * * *"), Field = "cron" };
        yield return new("PUT", $"/api/schedules/{Schedule}", 400) { Body = ScheduleBody(id: "other"), Field = "id" };
        yield return new("PUT", "/api/schedules/missing-schedule", 404) { Body = ValidSchedule("missing-schedule") };
        yield return new("PUT", "/api/schedules/..%2F..%2Fetc", 404) { Body = ValidSchedule("t") };
        yield return new("DELETE", "/api/schedules/missing-schedule", 404);
        yield return new("DELETE", "/api/schedules/..%2F" + Schedule, 404);
        yield return new("DELETE", "/api/schedules/%00", 400) { RejectedByServer = true };
        yield return new("GET", "/api/schedules/%2e%2e%2f%2e%2e%2f", 404);
        yield return new("POST", "/api/schedules/missing-schedule/trigger", 404);
        yield return new("POST", "/api/schedules/%2e%2e%2f" + Schedule + "/trigger", 404);
        yield return new("GET", $"/api/schedules/{Schedule}/runs?limit=0", 400) { Field = "limit" };
        yield return new("GET", $"/api/schedules/{Schedule}/runs?limit=99999999999", 400) { Field = "limit" };
        yield return new("GET", $"/api/schedules/{Schedule}/runs?limit=%00", 400) { Field = "limit" };
        yield return new("GET", "/api/schedules/missing-schedule/runs", 404);

        // Heartbeat.
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"every":"1ms"}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"every":"8d"}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"every":"soon"}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"every":"99999999999999999999h"}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"every":30}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"enabled":"yes"}""", Field = "enabled" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"agent":"../../etc/passwd"}""", Field = "agent" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"workspace":"../.."}""", Field = "workspace" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"workspace":"/etc"}""", Field = "workspace" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"checklist":["ok","bad\u0000item"]}""", Field = "checklist" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"checklist":[""" + string.Join(',', Enumerable.Repeat("\"x\"", 101)) + "]}", Field = "checklist" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = "{\"checklist\":[\"" + new string('c', 2_001) + "\"]}", Field = "checklist" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"checklist":"check"}""", Field = "checklist" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"activeHours":{"start":"25:00","end":"22:00"}}""", Field = "activeHours.start" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"activeHours":{"start":"08:00","end":"8pm"}}""", Field = "activeHours.end" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"activeHours":{"start":"08:00","end":"22:00","timeZone":"Not/AZone"}}""", Field = "activeHours.timeZone" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"activeHours":{"start":"08:00","end":"22:00","timeZone":"/etc/localtime"}}""", Field = "activeHours.timeZone" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"activeHours":{"start":"08:00","end":"22:00","timeZone":"../../../etc/localtime"}}""", Field = "activeHours.timeZone" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"webhookUrl":"ftp://example.test/hook"}""", Field = "webhookUrl" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"webhookUrl":"http://127.0.0.1:5432/"}""", Field = "webhookUrl" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"enabled":true,"every":"1s","sudo":true}""", Field = "sudo" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"enabled":true,"every":"1s","every":"2s"}""", Field = "every" };
        yield return new("PUT", "/api/heartbeat", 400) { Body = """{"enabled":tru""", Field = "enabled" };
        yield return new("PUT", "/api/heartbeat", 415) { ContentType = "text/plain", Body = """{"enabled":true}""" };
        yield return new("PUT", "/api/heartbeat", 413) { Body = OversizedBody };
        yield return new("DELETE", "/api/heartbeat", 405);

        // Keys.
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"../admin","scopes":["read"]}""", Field = "name" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"","scopes":["read"]}""", Field = "name" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"key\u0000","scopes":["read"]}""", Field = "name" };
        yield return new("POST", "/api/keys", 400) { Body = "{\"name\":\"" + new string('k', 65) + "\",\"scopes\":[\"read\"]}", Field = "name" };
        yield return new("POST", "/api/keys", 400) { Body = """{"scopes":["read"]}""", Field = "name" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":["root"]}""", Field = "scopes" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":["ADMIN"]}""", Field = "scopes" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":[]}""", Field = "scopes" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":["read","read"]}""", Field = "scopes" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":"admin"}""", Field = "scopes" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":[1]}""", Field = "scopes[0]" };
        yield return new("POST", "/api/keys", 400) { Body = """{"name":"k","scopes":["read"],"key":"chosen-by-client"}""", Field = "key" };
        yield return new("POST", "/api/keys", 400) { Body = "{\"name\":\"k\",\"scopes\":[\"read\"", Field = "scopes[1]" };
        yield return new("POST", "/api/keys", 409) { Body = "{\"name\":\"" + HostileRequestFixture.ReaderKeyName + "\",\"scopes\":[\"admin\"]}" };
        yield return new("POST", "/api/keys", 415) { ContentType = "text/plain", Body = """{"name":"k","scopes":["read"]}""" };
        yield return new("POST", "/api/keys", 413) { Body = OversizedBody };
        yield return new("DELETE", "/api/keys/missing-key", 404);
        yield return new("DELETE", "/api/keys/..%2F" + HostileRequestFixture.ReaderKeyName, 404);
        yield return new("DELETE", "/api/keys/%00", 400) { RejectedByServer = true };
        yield return new("DELETE", "/api/keys/" + HostileRequestFixture.ReaderKeyName + "%00", 400) { RejectedByServer = true };
        yield return new("PUT", "/api/keys/" + HostileRequestFixture.ReaderKeyName, 405) { Body = """{"scopes":["admin"]}""" };

        // System resources and the hub.
        yield return new("POST", "/api/system/resources", 405) { Body = "{}" };
        yield return new("GET", "/api/system/resources/..%2F..%2Fproc", 404);
        yield return new("POST", "/hubs/tasks/negotiate?negotiateVersion=1", 401) { Caller = Caller.NoKey };
        yield return new("POST", "/hubs/tasks/negotiate?negotiateVersion=1&access_token=not-a-key", 401) { Caller = Caller.NoKey };
        yield return new("POST", "/hubs/tasks/negotiate?negotiateVersion=1&access_token=%00", 401) { Caller = Caller.NoKey };
        yield return new("POST", "/hubs/tasks/negotiate?negotiateVersion=1", 403) { Caller = Caller.Submitter };

        // Dashboard forms and sign-in: the pages respond with HTML.
        yield return new("POST", "/tasks?handler=Submit", 400) { Form = Fields(("input", "x")) };
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", "")), Html = true };
        // A NUL in a form field gets a 400 before the page handler runs, as problem details rather than the page.
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", "a\0b")) };
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", "x"), ("agent", "../../etc/passwd")), Html = true };
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", "x"), ("priority", "urgent")), Html = true };
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", "x"), ("lane", "nowhere")), Html = true };
        yield return new("POST", "/tasks?handler=Submit", 400) { FormPage = "/tasks", Form = Fields(("input", new string('a', 100_001))), Html = true };
        yield return new("POST", "/tasks?handler=Submit", 403) { Caller = Caller.Reader, FormPage = "/tasks", Form = Fields(("input", "x")), Html = true };
        yield return new("POST", "/?handler=LaneLimit", 400) { Form = Fields(("lane", "main"), ("maxConcurrent", "9")) };
        yield return new("POST", "/?handler=LaneLimit", 400) { FormPage = "/", Form = Fields(("lane", "main"), ("maxConcurrent", "nine")), Html = true };
        yield return new("POST", "/?handler=LaneLimit", 400) { FormPage = "/", Form = Fields(("lane", "main"), ("maxConcurrent", "99999999999")), Html = true };
        yield return new("POST", "/?handler=LaneLimit", 400) { FormPage = "/", Form = Fields(("lane", "main"), ("maxConcurrent", "-1")), Html = true };
        yield return new("POST", "/?handler=LaneLimit", 404) { FormPage = "/", Form = Fields(("lane", "../main"), ("maxConcurrent", "3")), Html = true };
        yield return new("POST", "/?handler=LaneLimit", 400) { FormPage = "/", Form = Fields(("lane", "main\0"), ("maxConcurrent", "3")) };
        yield return new("POST", "/?handler=LaneLimit", 403) { Caller = Caller.Submitter, FormPage = "/tasks", Form = Fields(("lane", "main"), ("maxConcurrent", "9")) };
        yield return new("POST", $"/tasks/{finishedTask}?handler=Cancel", 403) { Caller = Caller.Reader, FormPage = $"/tasks/{finishedTask}", Form = Fields(), Html = true };
        yield return new("POST", $"/tasks/{finishedTask}?handler=Cancel", 409) { FormPage = $"/tasks/{finishedTask}", Form = Fields(), Html = true };
        yield return new("POST", $"/tasks/{MissingId}?handler=Cancel", 404) { FormPage = "/tasks", Form = Fields() };
        yield return new("POST", "/tasks/..%2F..%2Fetc?handler=Cancel", 404) { FormPage = "/tasks", Form = Fields() };
        yield return new("POST", "/login", 400) { Caller = Caller.NoKey, Form = Fields(("key", AgentApiFactory.AdminKey)) };
        yield return new("POST", "/login", 401) { Caller = Caller.NoKey, FormPage = "/login", Form = Fields(("key", "wrong-key")), Html = true };
        yield return new("POST", "/login", 401) { Caller = Caller.NoKey, FormPage = "/login", Form = Fields(("key", "")), Html = true };
        yield return new("POST", "/login", 400) { Caller = Caller.NoKey, FormPage = "/login", Form = Fields(("key", AgentApiFactory.AdminKey + "\0")) };
        yield return new("POST", "/login", 401) { Caller = Caller.NoKey, FormPage = "/login", Form = Fields(("key", new string('k', 100_000))), Html = true };
        yield return new("POST", "/login?returnUrl=%2F%2Fevil.example", 401) { Caller = Caller.NoKey, FormPage = "/login", Form = Fields(("key", "wrong-key")), Html = true };
        yield return new("POST", "/login", 400) { Caller = Caller.NoKey, Body = """{"key":"wrong-key"}""" };
    }

    private static string ValidSchedule(string id) => ScheduleBody(id: id);

    /// <summary>A schedule body; each argument is put in a JSON string as it is, so escapes such as <c>\u0000</c> reach the parser.</summary>
    private static string ScheduleBody(string id = "t", string cron = "0 0 1 1 *", string timeZone = "UTC") =>
        $$$"""{"id":"{{{id}}}","cron":"{{{cron}}}","timeZone":"{{{timeZone}}}","task":{"input":"x"}}""";

    private static Dictionary<string, string> Header(string name, string value) => new() { [name] = value };

    private static Dictionary<string, string> Fields(params (string Name, string Value)[] fields) =>
        fields.ToDictionary(field => field.Name, field => field.Value);

    /// <summary>Sends the row and returns what was wrong with the response, if anything.</summary>
    private async Task<List<string>> SendAsync(HttpClient client, HostileRequest row)
    {
        using var request = new HttpRequestMessage(new HttpMethod(row.Method), row.Path);
        if (row.Form is not null)
        {
            var fields = new Dictionary<string, string>(row.Form);
            if (row.FormPage is not null)
            {
                // A caller that may not read the page gets no token and sends the form without one.
                using var page = await client.GetAsync(row.FormPage).WaitAsync(TestTimeouts.Request);
                var html = await page.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request);
                if (AntiforgeryTokenPattern().Match(html) is { Success: true } token)
                {
                    fields["__RequestVerificationToken"] = token.Groups[1].Value;
                }
            }

            request.Content = new FormUrlEncodedContent(fields);
        }
        else if (row.Body is not null)
        {
            request.Content = new StringContent(row.Body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(row.ContentType);

            // The server rejects a body over the limit before reading it and closes the
            // connection, so the client waits for its go-ahead instead of writing into a closed socket.
            request.Headers.ExpectContinue = row.Body.Length > 64 * 1024;
        }

        foreach (var (name, value) in row.Headers)
        {
            if (name == "Accept")
            {
                request.Headers.Accept.Clear();
            }

            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request).WaitAsync(TestTimeouts.Request);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Request);
        var status = (int)response.StatusCode;
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var failures = new List<string>();
        var excerpt = text.Length > 600 ? text[..600] + "…" : text;
        if (status != row.Status)
        {
            failures.Add($"{row}: expected {row.Status}, got {status}: {excerpt}");
            return failures;
        }

        if (row.RejectedByServer)
        {
            return failures;
        }

        if (row.Html)
        {
            if (mediaType != "text/html")
            {
                failures.Add($"{row}: expected an HTML page, got '{mediaType}': {excerpt}");
            }

            return failures;
        }

        if (mediaType != "application/problem+json")
        {
            failures.Add($"{row}: expected problem details, got '{mediaType}': {excerpt}");
            return failures;
        }

        using var problem = JsonDocument.Parse(text);
        if (!problem.RootElement.TryGetProperty("status", out var statusProperty) || statusProperty.GetInt32() != status)
        {
            failures.Add($"{row}: the problem's status does not match {status}: {excerpt}");
        }

        if (!problem.RootElement.TryGetProperty("title", out _))
        {
            failures.Add($"{row}: the problem has no title: {excerpt}");
        }

        if (row.Field is not null
            && !(problem.RootElement.TryGetProperty("errors", out var errors)
                && errors.TryGetProperty(row.Field, out var messages)
                && messages.GetArrayLength() > 0))
        {
            failures.Add($"{row}: errors should name '{row.Field}': {excerpt}");
        }

        return failures;
    }

    private static string Difference(string before, string after)
    {
        var old = before.Split('\n');
        var current = after.Split('\n');
        return string.Join('\n', current.Where(line => !old.Contains(line)).Select(line => "now: " + (line.Length > 300 ? line[..300] + "…" : line)));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryTokenPattern();
}
