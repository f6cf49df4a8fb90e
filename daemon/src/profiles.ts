// Profiles are data: JSON files validated against the protocol schema, each naming the
// xstartup script that starts it. Built-in profiles come first; later directories (the admin's
// `desktops/` folders on Jupyter's config path) override them by id. Availability is computed
// on every read, so a tile becomes usable as soon as its software is installed.
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { Compile } from 'typebox/compile';
import {
  ProfileFile,
  ROUTES,
  routePath,
  type Profile,
  type ProfileFile as IProfileFile,
  type Requirement
} from '@jupyterlab-desktops/protocol';

const checkProfile = Compile(ProfileFile);

export interface IResolvedProfile {
  profile: Profile;
  /** Absolute path of the xstartup script. */
  xstartup: string;
  /**
   * Environment for the xstartup: each requirement's `env` name -> resolved absolute path, and
   * DESKTOPS_APP_SESSION, the built-in helper that runs one application as the session.
   */
  env: Record<string, string>;
  /** Absolute path of the SVG icon, if any. */
  iconPath?: string;
  /** Minimum OpenGL core version, and the glxinfo that checks it. */
  gl?: { version: string; glxinfo: string };
}

export interface IProfileProblem {
  file: string;
  message: string;
}

interface IEntry extends IProfileSource {
  data: IProfileFile;
  dir: string;
}

/** Where a profile comes from: `jupyter desktops profiles`. */
export interface IProfileSource {
  /** The file that defines it (the last one with its id). */
  file: string;
  /** Files with the same id in earlier (lower-priority) directories, which it replaces. */
  overrides: string[];
}

/** Every profile found, with its file: what `--profiles` prints (as JSON). */
export interface IProfileSources {
  /** The directories searched, lowest priority first. */
  dirs: string[];
  /** The launcher's tiles, in its order. */
  profiles: Array<IProfileSource & { profile: Profile }>;
  /** Ids hidden by a file with `"enabled": false`. */
  disabled: Array<IProfileSource & { id: string }>;
  /** Files that are not valid profiles (never half-used). */
  problems: IProfileProblem[];
}

/** The launcher's order: category, rank, title. */
export function launcherOrder(a: Profile, b: Profile): number {
  return a.category.localeCompare(b.category) || a.rank - b.rank || a.title.localeCompare(b.title);
}

export interface IProfileStoreOptions {
  /**
   * Directories searched in order; a later file with the same id wins. The first holds the
   * built-in profiles and their helper scripts.
   */
  dirs: string[];
  /** Where icons named by profiles are looked for after the profile's own directory. */
  iconDirs?: string[];
  /** Checked for every profile: the X server program. */
  xvnc: string;
  /** PATH used to find bare command names; defaults to the daemon's. */
  path?: string;
  /**
   * Told of each profile file that is not valid or whose start script is missing: at the first
   * read, then whenever that changes (profiles are read again on every request, so a file
   * edited into a bad state would otherwise only lose its tile, without a word in the log).
   */
  onProblem?: (p: IProfileProblem & { skipped: boolean }) => void;
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    const st = await stat(file);
    if (!st.isFile()) {
      return false;
    }
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds a program: absolute path as is, else each of `paths`, else every PATH entry. */
export async function findProgram(
  command: string,
  paths: string[] = [],
  searchPath = process.env.PATH ?? ''
): Promise<string | undefined> {
  if (isAbsolute(command)) {
    return (await isExecutable(command)) ? command : undefined;
  }
  if (command.includes('/')) {
    return undefined;
  }
  for (const p of paths) {
    if (isAbsolute(p) && (await isExecutable(p))) {
      return p;
    }
  }
  for (const dir of searchPath.split(delimiter)) {
    if (!isAbsolute(dir)) {
      continue;
    }
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** "NCAR VAPOR is not installed: vapor not found at /opt/vapor/bin/vapor or on PATH" */
export function missingReason(req: Requirement): string {
  const name = req.name ?? req.command;
  const paths = req.paths ?? [];
  const where = isAbsolute(req.command)
    ? `${req.command} not found`
    : paths.length
      ? `${req.command} not found at ${paths.join(', ')} or on PATH`
      : `${req.command} not found on PATH`;
  return `${name} is not installed: ${where}`;
}

export class ProfileStore {
  /** What onProblem was last told, by file: each change is told once. */
  private _told = new Map<string, string>();

  constructor(private readonly _opts: IProfileStoreOptions) {}

  /** Reads every profile file; invalid files are reported, never half-used. */
  async load(): Promise<{
    entries: Map<string, IEntry>;
    problems: IProfileProblem[];
    /** The entries with `"enabled": false`, left out of `entries`. */
    disabled: IEntry[];
  }> {
    const entries = new Map<string, IEntry>();
    const problems: IProfileProblem[] = [];
    for (const dir of this._opts.dirs) {
      let names: string[];
      try {
        names = (await readdir(dir)).filter(n => n.endsWith('.json')).sort();
      } catch {
        continue; // A config directory without desktops/ is normal.
      }
      for (const name of names) {
        const file = join(dir, name);
        try {
          const data: unknown = JSON.parse(await readFile(file, 'utf8'));
          if (!checkProfile.Check(data)) {
            const first = [...checkProfile.Errors(data)][0];
            const where = first?.instancePath || '/';
            throw new Error(`${where}: ${first?.message ?? 'invalid'}`);
          }
          if (data.fileRequired && !data.fileTypes?.length) {
            throw new Error('/fileRequired: a profile that needs a file must list its fileTypes');
          }
          const earlier = entries.get(data.id);
          const overrides = earlier ? [...earlier.overrides, earlier.file] : [];
          entries.set(data.id, { data, dir, file, overrides });
        } catch (err) {
          problems.push({ file, message: (err as Error).message });
        }
      }
    }
    const disabled = [...entries.values()].filter(e => e.data.enabled === false);
    for (const [id, e] of entries) {
      if (e.data.enabled === false) {
        entries.delete(id);
      }
    }
    if (this._opts.onProblem) {
      await this._tell(entries, problems);
    }
    return { entries, problems, disabled };
  }

  /**
   * Tells onProblem of the problems this read found that the last one did not. A missing start
   * script is one too, though the profile keeps its (unavailable) tile: it is the admin's to
   * fix, as a bad file is. Compared at the end, with no await in between, so that concurrent
   * reads do not tell the same change twice.
   */
  private async _tell(entries: Map<string, IEntry>, problems: IProfileProblem[]): Promise<void> {
    const found = problems.map(p => ({ ...p, skipped: true }));
    for (const e of entries.values()) {
      const xstartup = resolve(e.dir, e.data.xstartup);
      if (!(await isExecutable(xstartup))) {
        found.push({
          file: e.file,
          message: `its start script ${xstartup} is missing or not executable`,
          skipped: false
        });
      }
    }
    for (const p of found) {
      if (this._told.get(p.file) !== p.message) {
        this._opts.onProblem?.(p);
      }
    }
    this._told = new Map(found.map(p => [p.file, p.message]));
  }

  /** Each profile found, the file that defines it and the files it replaces. */
  async sources(): Promise<IProfileSources> {
    const { entries, problems, disabled } = await this.load();
    const found = await Promise.all(
      [...entries.values()].map(async e => ({
        profile: (await this._resolve(e)).profile,
        file: e.file,
        overrides: e.overrides
      }))
    );
    return {
      dirs: [...this._opts.dirs],
      profiles: found.sort((a, b) => launcherOrder(a.profile, b.profile)),
      disabled: disabled.map(e => ({ id: e.data.id, file: e.file, overrides: e.overrides })),
      problems
    };
  }

  async list(): Promise<IResolvedProfile[]> {
    const { entries } = await this.load();
    const out = await Promise.all([...entries.values()].map(e => this._resolve(e)));
    return out.sort((a, b) => launcherOrder(a.profile, b.profile));
  }

  async get(id: string): Promise<IResolvedProfile | undefined> {
    const { entries } = await this.load();
    const e = entries.get(id);
    return e ? this._resolve(e) : undefined;
  }

  private async _resolve(e: IEntry): Promise<IResolvedProfile> {
    const d = e.data;
    const reasons: string[] = [];
    const env: Record<string, string> = {
      DESKTOPS_APP_SESSION: resolve(this._opts.dirs[0] ?? '.', 'app-session.sh')
    };
    const searchPath = this._opts.path ?? process.env.PATH ?? '';

    if (!(await findProgram(this._opts.xvnc, [], searchPath))) {
      reasons.push(`TigerVNC is not installed: ${this._opts.xvnc} not found on PATH`);
    }
    const xstartup = resolve(e.dir, d.xstartup);
    if (!(await isExecutable(xstartup))) {
      reasons.push(`The profile's start script ${xstartup} is missing or not executable`);
    }
    for (const req of d.requires ?? []) {
      const found = await findProgram(req.command, req.paths, searchPath);
      if (!found) {
        reasons.push(missingReason(req));
      } else if (req.env) {
        env[req.env] = found;
      }
    }
    let gl: IResolvedProfile['gl'];
    if (d.gl) {
      const glxinfo = await findProgram('glxinfo', [], searchPath);
      if (!glxinfo) {
        reasons.push(
          `glxinfo (Debian package mesa-utils) is needed to check the OpenGL ${d.gl} that ${d.title} needs`
        );
      } else {
        gl = { version: d.gl, glxinfo };
      }
    }
    let iconPath: string | undefined;
    if (d.icon) {
      for (const dir of [e.dir, ...(this._opts.iconDirs ?? [])]) {
        const p = join(dir, d.icon);
        try {
          if ((await stat(p)).isFile()) {
            iconPath = p;
            break;
          }
        } catch {
          // try the next directory
        }
      }
    }
    const profile: Profile = {
      id: d.id,
      title: d.title,
      description: d.description ?? '',
      category: d.category ?? 'Desktops',
      kind: d.kind ?? 'desktop',
      rank: d.rank ?? 100,
      fileTypes: d.fileTypes ?? [],
      available: reasons.length === 0
    };
    if (d.fileRequired) {
      profile.fileRequired = true;
    }
    if (iconPath) {
      profile.icon = routePath(ROUTES.profileIcon, { id: d.id });
    }
    if (reasons.length) {
      profile.unavailableReason = reasons.join('; ');
    }
    return { profile, xstartup, env, iconPath, gl };
  }
}
