import Mustache

/// The workspace's Mustache templates. `{{name}}` escapes HTML (and quotes, for attributes); no
/// template uses triple braces: every value — patient names included — is data, never markup.
/// The bar chart is SVG written by the template from numbers, not a pre-rendered string.
enum WorkspaceTemplates {
    static let library: MustacheLibrary = {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in sources { templates[name] = try! MustacheTemplate(string: text) }
        return MustacheLibrary(templates: templates)
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let sources: [String: String] = [
        "head": head, "foot": foot, "signin": signIn, "queue": queue, "case": casePage, "dashboard": dashboard, "missing": missing,
    ]

    static let style = """
        :root{--fg:#1d2430;--muted:#5b6472;--line:#d9dde3;--bg:#f6f7f9;--accent:#1f5fbf;--fresh:#2e7d32;--aging:#b26a00;--old:#c62828}
        *{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        main{max-width:980px;margin:0 auto;padding:12px 16px 48px}h1{font-size:1.45rem;margin:.6em 0 .4em}h2{font-size:1.1rem;margin:1.2em 0 .4em}
        a{color:var(--accent)}.bar{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:8px 16px;background:#fff;border-bottom:1px solid var(--line)}
        .bar nav a{margin-right:14px;font-weight:600;text-decoration:none}.inline{display:inline;margin:0}
        button{font:inherit;padding:7px 14px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
        .bar button{background:#fff;color:var(--accent)}input,select,textarea{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px;max-width:100%}
        label{display:block;margin:6px 0}.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:10px 0}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:10px}.grid .card{margin:0}
        .counts{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:8px 0}.counts li{background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px 10px}
        .filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end}.filters label{margin:0}
        .tasks{list-style:none;padding:0;margin:0}.task{background:#fff;border:1px solid var(--line);border-left:6px solid var(--fresh);border-radius:8px;margin:8px 0}
        .task a{display:block;padding:10px 12px;color:inherit;text-decoration:none}.task.aging{border-left-color:var(--aging)}.task.old{border-left-color:var(--old)}
        .age{font-weight:700}.fresh .age,li.fresh b{color:var(--fresh)}.aging .age,li.aging b{color:var(--aging)}.old .age,li.old b{color:var(--old)}
        .tag{display:inline-block;font-size:.8rem;padding:1px 7px;border-radius:10px;background:#e8edf5;margin-left:4px}.tag.urgent{background:#fde2e1;color:var(--old)}
        .muted{color:var(--muted);font-size:.92rem}.notice{background:#e6f4ea;border:1px solid #b7dfc1;padding:8px 12px;border-radius:8px}
        .problem{background:#fdecea;border:1px solid #f5c2bf;padding:8px 12px;border-radius:8px}
        table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        .scroll{overflow-x:auto}.figure{font-size:1.6rem;font-weight:700}.ok{color:var(--fresh)}.miss{color:var(--old)}
        .actions form{margin:0}.actions .card h3{margin:0 0 6px;font-size:1rem}.opening{display:flex;justify-content:space-between;align-items:center;gap:8px;padding:6px 0;border-bottom:1px solid var(--line)}
        svg text{font:12px system-ui,sans-serif;fill:var(--fg)}
        @media (max-width:600px){main{padding:8px 10px 40px}h1{font-size:1.25rem}.bar nav a{margin-right:8px}}
        """

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · PlanRouter</title><style>\(style)</style></head><body>
        {{#signedIn}}<header class="bar"><nav><a href="/workspace">Queue</a><a href="/workspace/dashboard">Dashboard</a></nav>
        {{#csrf}}<form method="post" action="/signout" class="inline"><input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="redirect" value="/signin"><button type="submit">Sign out</button></form>{{/csrf}}</header>{{/signedIn}}
        <main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}{{#problem}}<p class="problem" role="alert">{{problem}}</p>{{/problem}}

        """

    static let foot = """
        </main></body></html>

        """

    static let signIn = """
        {{> head}}<h1>Sign in</h1>
        <form method="post" action="/signin" class="card" id="signin"><input type="hidden" name="redirect" value="/workspace">
        <label>Sign-in name<br><input name="login" autocomplete="username" required></label>
        <label>Password<br><input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Sign in</button></form>
        {{> foot}}
        """

    static let queue = """
        {{> head}}<h1>My queue</h1>
        <ul class="counts" id="counts"><li><b>{{open}}</b> open</li><li><b>{{urgent}}</b> urgent</li><li class="fresh"><b>{{fresh}}</b> under 24 h</li>
        <li class="aging"><b>{{aging}}</b> 1–3 days</li><li class="old"><b>{{old}}</b> over 3 days</li><li><b>{{snoozed}}</b> snoozed</li></ul>
        <form method="get" action="/workspace" class="filters card">
        <label>Location<br><select name="location"><option value="">All</option>{{#locations}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/locations}}</select></label>
        <label>Tier<br><select name="tier"><option value="">All</option>{{#tiers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/tiers}}</select></label>
        <label>Kind<br><select name="kind"><option value="">All</option>{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select></label>
        <button type="submit">Filter</button></form>
        <ol class="tasks" id="tasks">{{#tasks}}<li class="task {{ageClass}}"><a href="/workspace/tasks/{{id}}"><span class="age">{{age}}</span> <strong class="patient">{{patient}}</strong>
        {{#urgent}}<span class="tag urgent">urgent</span>{{/urgent}}{{#tier}}<span class="tag">{{tier}}</span>{{/tier}}<span class="tag">{{kind}}</span><br>
        <span class="muted">{{location}} · {{value}} · owner {{owner}}{{#snoozedUntil}} · snoozed until {{snoozedUntil}}{{/snoozedUntil}}</span><br><span class="muted">{{reason}}</span></a></li>{{/tasks}}</ol>
        {{^tasks}}<p class="card">No open tasks match.</p>{{/tasks}}
        {{> foot}}
        """

    static let missing = """
        {{> head}}<h1>Not found</h1><p class="card">No such task. <a href="/workspace">Back to the queue</a></p>{{> foot}}
        """

    static let casePage = """
        {{> head}}<p class="muted"><a href="/workspace">← Queue</a></p>
        <h1 id="patient">{{patient}}</h1>
        <p><span class="tag">case {{planStatus}}</span><span class="tag">task {{taskStatus}}</span>{{#urgent}}<span class="tag urgent">urgent</span>{{/urgent}}
        {{#tier}}<span class="tag">{{tier}}</span>{{/tier}}<span class="tag">{{kind}}</span> <span class="muted">{{location}} · plan {{planID}} · owner {{owner}} · open {{age}}</span></p>
        <div class="grid">
        <section class="card" id="contact"><h2>Contact</h2>
        {{#phone}}<p>Phone: <a href="tel:{{phone}}">{{phone}}</a> · <a href="sms:{{phone}}">Text</a></p>{{/phone}}{{^phone}}<p class="muted">No phone on file.</p>{{/phone}}
        {{#email}}<p>Email: <a href="mailto:{{email}}">{{email}}</a></p>{{/email}}{{^email}}<p class="muted">No email on file.</p>{{/email}}
        <p class="muted">Text consent: {{smsConsent}} · Email consent: {{emailConsent}}{{#preferred}} · prefers {{preferred}}{{/preferred}}</p></section>
        <section class="card" id="why"><h2>Why it is here</h2><p>{{reason}}</p>{{#why}}<p class="muted">{{why}}</p>{{/why}}
        <p class="muted">Task created {{createdAt}}{{#snoozedUntil}} · snoozed until {{snoozedUntil}}{{/snoozedUntil}}</p></section>
        <section class="card" id="classification"><h2>Tier {{tier}}</h2><ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>
        <p>Chair time: {{chairMinutes}} · Deposit: {{deposit}} ({{depositStatus}})</p></section>
        </div>
        <h2>Plan</h2><div class="scroll"><table id="procedures"><tr><th>Code</th><th>Procedure</th><th>Tooth</th><th>Fee</th></tr>
        {{#procedures}}<tr><td>{{code}}</td><td>{{description}}</td><td>{{tooth}}</td><td>{{fee}}</td></tr>{{/procedures}}
        <tr><th colspan="3">Total · patient portion {{patientPortion}}</th><th>{{total}}</th></tr></table></div>
        {{#open}}<h2>Actions</h2><div class="grid actions" id="actions">
        <section class="card" id="book"><h3>Book for the patient</h3>{{#openings}}<form method="post" action="/workspace/tasks/{{taskID}}/book" class="opening">
        <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
        <input type="hidden" name="offer" value="{{offer}}"><input type="hidden" name="reservation" value="{{reservation}}">
        <span>{{start}} · {{provider}}</span><button type="submit">Book</button></form>{{/openings}}
        {{^openings}}<p class="muted">No held opening is still valid; call the patient and book in the PMS.</p>{{/openings}}</section>
        <section class="card"><h3>Record a call or text</h3><form method="post" action="/workspace/tasks/{{taskID}}/attempt" id="attempt">
        <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
        <label>How <select name="channel"><option value="call">Call</option><option value="text">Text</option></select></label>
        <label>Outcome <select name="outcome">{{#attemptOutcomes}}<option value="{{value}}">{{label}}</option>{{/attemptOutcomes}}</select></label>
        <label>Note<br><input name="note" maxlength="2000"></label><button type="submit">Record</button></form></section>
        <section class="card"><h3>Snooze</h3><form method="post" action="/workspace/tasks/{{taskID}}/snooze" id="snooze">
        <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
        <label>Until ({{timeZone}})<br><input type="datetime-local" name="until" value="{{snoozeDefault}}" required></label><button type="submit">Snooze</button></form></section>
        <section class="card"><h3>Reassign</h3><form method="post" action="/workspace/tasks/{{taskID}}/reassign" id="reassign">
        <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
        <label>To <select name="owner">{{#coordinators}}<option value="{{login}}">{{name}}</option>{{/coordinators}}</select></label><button type="submit">Reassign</button></form></section>
        <section class="card"><h3>Resolve</h3><form method="post" action="/workspace/tasks/{{taskID}}/resolve" id="resolve">
        <input type="hidden" name="csrf_token" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
        <label>Outcome <select name="outcome"><option value="booked_by_phone">Booked in the PMS</option><option value="declined">Declined</option>
        <option value="unreachable">Unreachable</option><option value="other">Other</option></select></label>
        <label>Reason / note<br><input name="note" maxlength="2000"></label><button type="submit">Resolve</button></form></section>
        </div>{{/open}}
        <h2>Offers sent</h2><div class="scroll"><table id="offers"><tr><th>Sent</th><th>Kind</th><th>Channel</th><th>Openings</th><th>First-offer SLA</th><th>Outcome</th></tr>
        {{#offers}}<tr><td>{{sentAt}}</td><td>{{kind}}</td><td>{{channel}}</td><td>{{openings}}</td><td>{{sla}}</td><td>{{outcome}}</td></tr>{{/offers}}</table></div>
        {{^offers}}<p class="muted">No offer sent.</p>{{/offers}}
        <h2>Messages</h2>{{^hasMessages}}<p class="muted">No message recorded.</p>{{/hasMessages}}{{#hasMessages}}<div class="scroll"><table id="messages"><tr><th>Queued</th><th>Kind</th><th>Channel</th><th>Status</th><th>Sent</th><th>Delivered</th></tr>
        {{#messages}}<tr><td>{{createdAt}}</td><td>{{kind}}</td><td>{{channel}}</td><td>{{status}}</td><td>{{sentAt}}</td><td>{{deliveredAt}}</td></tr>{{/messages}}</table></div>{{/hasMessages}}
        <h2>History</h2><div class="scroll"><table id="history"><tr><th>When</th><th>What</th><th>From</th></tr>
        {{#history}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{source}}</td></tr>{{/history}}</table></div>
        <h2>Coordinator work</h2>{{^hasWork}}<p class="muted">Nothing recorded yet.</p>{{/hasWork}}{{#hasWork}}<div class="scroll"><table id="work"><tr><th>When</th><th>Who</th><th>What</th></tr>
        {{#work}}<tr><td>{{at}}</td><td>{{by}}</td><td>{{what}}</td></tr>{{/work}}</table></div>{{/hasWork}}
        {{> foot}}
        """

    static let dashboard = """
        {{> head}}<h1>Dashboard · {{scope}}</h1>
        <form method="get" action="/workspace/dashboard" class="filters card"><label>Location<br><select name="location"><option value="">Whole organization</option>
        {{#locations}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/locations}}</select></label><button type="submit">Show</button>
        <span class="muted">Cases accepted in the last 30 days, as of {{asOf}}</span></form>
        <div class="grid">
        <section class="card" id="unscheduled"><h2>Unscheduled accepted production</h2><p class="figure">{{unscheduled}}</p>
        <p class="muted">{{unscheduledPercent}} of {{accepted}} accepted ({{unscheduledCases}} of {{acceptedCases}} cases)</p></section>
        <section class="card" id="same-day"><h2>Same-day scheduling</h2><p class="figure {{sameDayClass}}">{{sameDay}}</p>
        <p class="muted">target {{target}}{{#targetIsDefault}} (default; no target configured){{/targetIsDefault}} · {{sameDayCases}} of {{acceptedCases}} cases</p></section>
        <section class="card" id="response-times"><h2>Response times</h2><p>First offer: p50 {{firstOfferP50}} · p90 {{firstOfferP90}}</p>
        <p>Booking: p50 {{bookingP50}} · p90 {{bookingP90}}</p><p class="muted">from acceptance</p></section>
        </div>
        <h2>Unscheduled cases by age</h2><div class="card"><svg id="aging" role="img" aria-label="Unscheduled cases by age" viewBox="0 0 {{chartWidth}} {{chartHeight}}" width="100%">
        {{#bars}}<rect x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="{{colour}}"/><text x="{{labelX}}" y="{{valueY}}" text-anchor="middle">{{cases}}</text>
        <text x="{{labelX}}" y="{{axisY}}" text-anchor="middle">{{bucket}}</text>{{/bars}}</svg>
        {{^bars}}<p class="muted">No unscheduled case.</p>{{/bars}}</div>
        <h2>First-offer SLA by tier</h2><div class="scroll"><table id="sla"><tr><th>Tier</th><th>Initial offers</th><th>Within SLA</th><th>Met</th></tr>
        {{#tiers}}<tr><td>{{tier}}</td><td>{{offers}}</td><td>{{met}}</td><td>{{percent}}</td></tr>{{/tiers}}</table></div>
        <h2>Open tasks by coordinator</h2><div class="scroll"><table id="owners"><tr><th>Owner</th><th>Open tasks</th><th>Oldest</th></tr>
        {{#owners}}<tr><td>{{owner}}</td><td>{{tasks}}</td><td class="{{ageClass}}">{{oldest}}</td></tr>{{/owners}}</table></div>
        {{> foot}}
        """
}
