import { useEffect, useState } from "react";
import { ProjectsView } from "./ProjectsView";
import { ProjectView, type ProjectTab } from "./ProjectView";

/** Routes live in the hash (#/projects/ID): every other path on this origin is the API's. */
function useRoute(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return hash.replace(/^#/, "") || "/";
}

export function App() {
  const route = useRoute();
  // #/projects/ID is the Sessions tab; #/projects/ID/activity and #/projects/ID/settings the others.
  const project = /^\/projects\/([^/]+)(?:\/(sessions|activity|settings))?$/.exec(route);
  return (
    <>
      <nav className="top" aria-label="tracker intake">
        <a href="#/">tracker intake</a>
      </nav>
      {project ? <ProjectView key={project[1]} id={decodeURIComponent(project[1])} tab={(project[2] as ProjectTab | undefined) ?? "sessions"} /> : <ProjectsView />}
    </>
  );
}
