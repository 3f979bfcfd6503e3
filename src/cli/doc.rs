//! `aigridc doc`: the documentation of the standard library, from its declarations in
//! `stdlib/` (each operation's signature, doc and example, whose results the tests check).

use aigrid_stdlib::{Item, PACKAGES, PRELUDE, Package};
use serde_json::json;

use super::ExitStatus;
use super::args::{CardsFormat, DocArgs};
use super::output;

/// What a name given to `aigridc doc` stands for.
enum Found {
    Package(&'static Package),
    /// An item of a package, or of the prelude (`None`).
    Item(Option<&'static Package>, &'static Item),
}

pub fn run(args: &DocArgs) -> ExitStatus {
    if args.markdown {
        return output::print(&markdown());
    }
    let Some(name) = args.name.as_deref() else {
        return match args.format {
            CardsFormat::Human => output::print(&overview()),
            CardsFormat::Json => {
                let packages: Vec<_> = PACKAGES.iter().map(package_json).collect();
                let prelude: Vec<_> = PRELUDE.iter().map(|i| item_json(None, i)).collect();
                json_out(&json!({ "packages": packages, "prelude": prelude }))
            }
        };
    };
    match find(name) {
        Ok(Found::Package(package)) if args.format == CardsFormat::Human => {
            output::print(&package_text(package))
        }
        Ok(Found::Package(package)) => json_out(&package_json(package)),
        Ok(Found::Item(package, item)) if args.format == CardsFormat::Human => {
            output::print(&item_text(package, item))
        }
        Ok(Found::Item(package, item)) => json_out(&item_json(package, item)),
        Err(why) => {
            output::error(&why);
            ExitStatus::Error
        }
    }
}

fn json_out(value: &serde_json::Value) -> ExitStatus {
    match serde_json::to_string_pretty(value) {
        Ok(text) => output::print(&format!("{text}\n")),
        Err(error) => {
            output::error(&format!("cannot write JSON: {error}"));
            ExitStatus::Failure
        }
    }
}

/// The package or item called `name`: a package, `package.item`, or an item's bare name when
/// one package (or the prelude) has it.
fn find(name: &str) -> Result<Found, String> {
    if let Some(package) = aigrid_stdlib::package(name) {
        return Ok(Found::Package(package));
    }
    if let Some((package, item)) = name.rsplit_once('.')
        && let Some(package) = aigrid_stdlib::package(package)
    {
        return package.item(item).map(|item| Found::Item(Some(package), item)).ok_or_else(|| {
            let names = package.items.iter().map(|i| i.name);
            unknown(name, &format!("`{}` has no operation `{item}`", package.name), names)
        });
    }
    let mut found: Vec<Found> = PACKAGES
        .iter()
        .filter_map(|p| p.item(name).map(|item| Found::Item(Some(p), item)))
        .chain(PRELUDE.iter().filter(|i| i.name == name).map(|i| Found::Item(None, i)))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let names = PACKAGES
                .iter()
                .map(|p| p.name)
                .chain(PACKAGES.iter().flat_map(|p| p.items.iter().map(|i| i.name)))
                .chain(PRELUDE.iter().map(|i| i.name));
            Err(unknown(name, "the standard library has nothing called", names))
        }
        _ => Err(format!("`{name}` is in several packages; write it with its package")),
    }
}

/// An error for a name not found, with the closest known name.
fn unknown<'a>(name: &str, what: &str, known: impl Iterator<Item = &'a str>) -> String {
    let message =
        if what.ends_with("called") { format!("{what} `{name}`") } else { what.to_owned() };
    let limit = (name.chars().count() / 3).max(2);
    let closest = known
        .map(|k| (strsim::levenshtein(name.rsplit('.').next().unwrap_or(name), k), k))
        .filter(|(distance, _)| *distance <= limit)
        .min();
    match closest {
        Some((_, k)) => format!("{message}; did you mean `{k}`? (`aigridc doc` lists everything)"),
        None => format!("{message} (`aigridc doc` lists everything)"),
    }
}

/// The first line of a doc.
fn summary(doc: &str) -> &str {
    doc.lines().next().unwrap_or_default()
}

/// Every package and its operations, a line each.
fn overview() -> String {
    let mut out = String::new();
    for package in PACKAGES {
        out += &format!("{}  {}\n", package.name, package.doc);
        for item in package.items {
            out += &format!("    {:<18} {}\n", item.name, summary(item.doc));
        }
        out.push('\n');
    }
    out += "prelude  In scope in every file without a `use`.\n";
    for item in PRELUDE {
        out += &format!("    {:<18} {}\n", item.name, summary(item.doc));
    }
    out += "\n`aigridc doc NAME` shows one package or operation, with its example.\n";
    out
}

fn package_text(package: &Package) -> String {
    let mut out = format!("{}\n\n{}\n\n", package.name, package.doc);
    for item in package.items {
        out += &format!("{}\n    {}\n\n", item.signature, summary(item.doc));
    }
    out
}

/// The example's file: a `use` of the item, then its pipeline.
fn example_file(package: Option<&Package>, item: &Item) -> String {
    match package {
        Some(package) => {
            format!("use {}.{{{}}}\n\n{}\n", package.name, item.name, item.example.pipeline)
        }
        None => format!("{}\n", item.example.pipeline),
    }
}

/// The command that runs the example, its values quoted for a POSIX shell.
fn example_command(item: &Item) -> String {
    let mut command = String::from("aigridc run example.ag");
    for (name, value) in item.example.params {
        command += &format!(" --param {name}={}", shell_quote(value));
    }
    command
}

fn shell_quote(value: &str) -> String {
    let plain = value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./,:=+".contains(c));
    if plain && !value.is_empty() {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn item_text(package: Option<&Package>, item: &Item) -> String {
    let full =
        package.map_or_else(|| item.name.to_owned(), |p| format!("{}.{}", p.name, item.name));
    let indent = |text: &str| -> String {
        text.lines()
            .map(|l| if l.is_empty() { "\n".into() } else { format!("    {l}\n") })
            .collect()
    };
    format!(
        "{full}\n\n{}\n{}{}\nExample (example.ag):\n\n{}\n{}    returns {}\n",
        indent(item.signature),
        item.doc.trim_end().to_owned() + "\n",
        computes_on(item).map(|line| format!("\n{line}\n")).unwrap_or_default(),
        indent(&example_file(package, item)),
        indent(&format!("$ {}", example_command(item))),
        item.example.returns,
    )
}

/// The line that says which tensor element types the operation computes on, if it computes.
fn computes_on(item: &Item) -> Option<String> {
    let names = item.elements().names();
    let (last, rest) = names.split_last()?;
    Some(format!(
        "Computes on tensors of {} or {last}; cast others first (`cast(x, \"{}\")`).",
        rest.join(", "),
        names.first().unwrap_or(last),
    ))
}

fn package_json(package: &Package) -> serde_json::Value {
    let items: Vec<_> = package.items.iter().map(|i| item_json(Some(package), i)).collect();
    json!({ "name": package.name, "doc": package.doc, "items": items })
}

fn item_json(package: Option<&Package>, item: &Item) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> =
        item.example.params.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let returns: serde_json::Value =
        serde_json::from_str(item.example.returns).unwrap_or_else(|_| json!(item.example.returns));
    json!({
        "name": package.map_or_else(|| item.name.to_owned(), |p| format!("{}.{}", p.name, item.name)),
        "signature": item.signature,
        "doc": item.doc,
        "elements": item.elements().names(),
        "example": { "file": example_file(package, item), "params": params, "returns": returns },
    })
}

/// The standard library as one Markdown document (what `spec/stdlib.md` holds).
pub fn markdown() -> String {
    let mut out = String::from(
        "# The standard library\n\n<!-- Generated by `aigridc doc --markdown`; do not edit. -->\n\n\
         Each operation is declared once in `stdlib/`: its signature, what it does, and an \
         example whose result the tests check by running it. `aigridc doc NAME` prints one \
         entry.\n",
    );
    let sections = PACKAGES.iter().map(|p| (Some(p), p.name, p.doc, p.items)).chain([(
        None,
        "prelude",
        "In scope in every file without a `use`.",
        PRELUDE,
    )]);
    for (package, name, doc, items) in sections {
        out += &format!("\n## {name}\n\n{doc}\n");
        for item in items {
            out += &format!(
                "\n### {}\n\n```text\n{}\n```\n\n{}\n\n{}```ag\n{}```\n\n```sh\n{}\n```\n\nreturns `{}`\n",
                item.name,
                item.signature,
                item.doc.trim_end(),
                computes_on(item).map(|line| format!("{line}\n\n")).unwrap_or_default(),
                example_file(package, item),
                example_command(item),
                item.example.returns,
            );
        }
    }
    out
}
