import { invalidInput } from "./errors";
import { parseLabelSelector } from "./labels";
import { Labels } from "./state";

type Item = Record<string, unknown>;

const DEFAULT_PER_PAGE = 25;
const MAX_PER_PAGE = 50;

function positiveInteger(query: URLSearchParams, field: string, fallback: number): number {
  const text = query.get(field);
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw invalidInput(field, "must be a positive integer");
  return value;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** `sort=status&sort=id` or `sort=created:desc`; keys are fields of the rendered items. */
function sortItems(items: Item[], sorts: string[]): Item[] {
  const keys = sorts.map((sort) => {
    const [field, direction = "asc"] = sort.split(":");
    if (direction !== "asc" && direction !== "desc") {
      throw invalidInput("sort", `"${sort}" has an unknown direction`);
    }
    if (items.length > 0 && !(field in items[0])) throw invalidInput("sort", `cannot sort by "${field}"`);
    return { field, sign: direction === "asc" ? 1 : -1 };
  });
  return [...items].sort((a, b) => {
    for (const { field, sign } of keys) {
      const order = compare(a[field], b[field]);
      if (order !== 0) return sign * order;
    }
    return compare(a.id, b.id);
  });
}

/**
 * The list body every collection endpoint returns: the `name` and `label_selector` filters every
 * collection supports, sorting, and one page with `meta.pagination`. No match is 200 with an empty list.
 */
export function listBody(key: string, items: Item[], query: URLSearchParams): Record<string, unknown> {
  const name = query.get("name");
  const selector = query.get("label_selector");
  const matchesSelector = selector === null ? () => true : parseLabelSelector(selector);
  const filtered = items.filter(
    (item) => (name === null || item.name === name) && matchesSelector((item.labels ?? {}) as Labels),
  );
  const sorted = sortItems(filtered, query.getAll("sort"));
  const page = positiveInteger(query, "page", 1);
  const perPage = Math.min(positiveInteger(query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE);
  const lastPage = Math.max(1, Math.ceil(sorted.length / perPage));
  return {
    [key]: sorted.slice((page - 1) * perPage, page * perPage),
    meta: {
      pagination: {
        page,
        per_page: perPage,
        previous_page: page > 1 ? page - 1 : null,
        next_page: page < lastPage ? page + 1 : null,
        last_page: lastPage,
        total_entries: sorted.length,
      },
    },
  };
}
