"""The main journey in a real headless Chromium against the real app on a real port."""
from pathlib import Path

from tests.conftest import FAST
from tests.live_server import browser, running_app  # noqa: F401 (fixture)

STEP_ORDER = ['[0] 🚀', '[1] 🔍', '[2] 📸', '[2] ✅', '[3] 🤖', '[3] ✅', '[4] ⏳', '[5] ⏳', '[6] 💾', '[7] 📦', '[8] ', '[9] 🎉']


def test_sign_in_generate_watch_steps_and_play(browser, app_env: Path) -> None:  # noqa: F811
    with running_app(app_env, **{**FAST, 'MOCK_RENDER_SECONDS': '1.5', 'MOCK_POLL_SECONDS': '0.2'}) as url:
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        page.goto(f'{url}/generate')
        page.get_by_label('Email').fill('browser@example.com')
        page.get_by_role('button', name='Continue').click()
        page.get_by_text('1,000 credits').wait_for()

        page.get_by_label('Prompt').fill('A red kite over green hills on a windy day')
        page.get_by_text('Trial image', exact=True).click()
        page.locator('.trial-thumb').nth(1).click()
        page.get_by_text('Price: 100 credits').wait_for()
        page.get_by_role('main').get_by_role('button', name='Generate').click()

        page.get_by_text('● Connected').wait_for()
        page.get_by_text('completed successfully').first.wait_for(timeout=30_000)
        lines = page.locator('.event-log').inner_text().splitlines()
        positions = [next(i for i, line in enumerate(lines) if marker in line) for marker in STEP_ORDER]
        assert positions == sorted(positions), lines
        assert any('[Progress: ' in line for line in lines)

        video = page.locator('video.player')
        video.wait_for()
        page.wait_for_function("document.querySelector('video.player').readyState >= 2", timeout=15_000)
        assert page.evaluate("document.querySelector('video.player').videoWidth") == 720
        page.get_by_text('900 credits').wait_for()
        page.screenshot(path=str(app_env.parent / 'generate.png'), full_page=True)


def sign_in_and_generate(page, url: str, email: str, prompt: str) -> None:
    page.goto(f'{url}/generate')
    page.get_by_label('Email').fill(email)
    page.get_by_role('button', name='Continue').click()
    page.get_by_text('1,000 credits').wait_for()
    page.get_by_label('Prompt').fill(prompt)
    page.get_by_role('main').get_by_role('button', name='Generate').click()


def test_the_openai_provider_makes_a_video_through_the_emulator(browser, app_env: Path) -> None:  # noqa: F811
    from tests.emulator import Emulator
    with Emulator(render_seconds=1.0, poll_after_ms=200).running() as emulator, \
            running_app(app_env, **FAST, VIDEO_PROVIDER='openai', OPENAI_BASE_URL=emulator.url,
                        OPENAI_API_KEY='sk-emulator') as url:
        page = browser.new_page()
        sign_in_and_generate(page, url, 'sdk@example.com', 'A lantern festival over a river at night')
        page.get_by_text('completed successfully').first.wait_for(timeout=30_000)
        page.wait_for_function("document.querySelector('video.player').readyState >= 2", timeout=15_000)
        assert 'Job ID: video_' in page.locator('.event-log').inner_text()
        assert emulator.creates == 1


def test_an_unknown_model_fails_fast_says_what_to_change_and_refunds(browser, app_env: Path) -> None:  # noqa: F811
    from tests.emulator import Emulator
    with Emulator(models=('veo-3',)).running() as emulator, \
            running_app(app_env, **FAST, VIDEO_PROVIDER='openai', OPENAI_BASE_URL=emulator.url) as url:
        page = browser.new_page()
        sign_in_and_generate(page, url, 'retired@example.com', 'A red bicycle leaning on a blue wall')
        failure = page.locator('text=OPENAI_BASE_URL').first
        failure.wait_for(timeout=10_000)
        page.get_by_text('100 credits were refunded to your balance').wait_for()
        assert '[3] ❌ Generation failed' in page.locator('.event-log').inner_text()
        page.get_by_text('1,000 credits').wait_for()
        assert emulator.creates == 0


def test_sign_in_with_google_lands_a_free_plan_user_on_generate(browser, app_env: Path) -> None:  # noqa: F811
    from tests.oidc import google_env, oidc_provider, set_claims
    with oidc_provider() as provider, running_app(app_env, **FAST, **google_env(provider)) as url:
        set_claims(provider, 'chromium-user', email='chromium@example.com', email_verified=True, name='Chromium')
        page = browser.new_page()
        page.goto(f'{url}/generate')
        page.get_by_role('button', name='Sign in with Google').click()
        page.locator('input[name="sub"]').first.fill('chromium-user')  # the provider's consent form
        page.get_by_role('button', name='Authorize').click()
        page.wait_for_url(f'{url}/generate')
        page.get_by_text('plan cannot generate videos').wait_for()
        assert page.get_by_role('main').get_by_role('button', name='Generate').is_disabled()
        page.get_by_text('1,000 credits').wait_for()


def test_pages_run_under_the_content_security_policy(browser, app_env: Path) -> None:  # noqa: F811
    with running_app(app_env, **FAST) as url:
        page = browser.new_page()
        violations = []
        page.on('console', lambda message: violations.append(message.text)
                if 'Content Security Policy' in message.text else None)
        page.goto(f'{url}/login')
        page.get_by_label('Email').fill('csp@example.com')
        page.get_by_role('button', name='Continue').click()
        page.get_by_text('1,000 credits').wait_for()
        page.goto(f'{url}/history')
        page.get_by_text('1,000 credits').wait_for()
        page.wait_for_load_state('networkidle')
        assert violations == []


def test_twenty_rapid_clicks_make_one_video_and_one_charge(browser, app_env: Path) -> None:  # noqa: F811
    with running_app(app_env, **FAST) as url:
        page = browser.new_page()
        sign_in_and_generate(page, url, 'clicker@example.com', 'A spinning top on a wooden table')
        button = page.get_by_role('main').get_by_role('button', name='Generate')
        for _ in range(19):
            button.click(force=True, no_wait_after=True)  # as fast as a hand on a mouse, and faster
        page.get_by_text('completed successfully').first.wait_for(timeout=30_000)
        page.get_by_text('900 credits').wait_for()
        page.goto(f'{url}/history')
        page.get_by_text('A spinning top on a wooden table').first.wait_for()
        assert page.get_by_text('A spinning top on a wooden table').count() == 1
        assert page.get_by_text('900 credits').count() == 1
